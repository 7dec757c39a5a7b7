#include "korean_lexicon.hpp"

#include <algorithm>
#include <iterator>
#include <string>

namespace troupe::sovits::text::lexicon {

namespace {

template <size_t N>
bool contains(const std::u32string_view (&list)[N], std::u32string_view s) {
    return std::find(std::begin(list), std::end(list), s) != std::end(list);
}

const std::u32string_view kParticles[] = {
    U"이",   U"가",     U"은",   U"는",     U"을",   U"를",   U"에",   U"에서", U"에게", U"의",   U"도",
    U"만",   U"과",     U"와",   U"으로",   U"로",   U"이다", U"이에요", U"예요", U"이야", U"야",  U"이고",
    U"고",   U"이나",   U"나",   U"이랑",   U"랑",   U"까지", U"부터", U"조차", U"밖에", U"처럼", U"보다",
    U"만큼", U"입니다", U"이죠", U"죠",     U"인데", U"인지", U"이라", U"라",   U"이면", U"면",   U"요",
    U"은요", U"는요",   U"도요", U"이에요", U"에요", U"이었", U"였",   U"인",   U"이니", U"니",   U"이냐",
    U"냐",   U"이지",   U"지",   U"지만",   U"다",   U"네",   U"이네", U"같아", U"같아요", U"같다", U"같은",
    U"같이", U"든",     U"이든", U"거든",   U"거든요", U"거야", U"거예요", U"거지", U"거죠", U"거다"};

}  // namespace

const std::vector<Entry>& entries() {
    static const std::vector<Entry> kEntries = {
        // 제20항 다만: ㄴ+ㄹ read [ㄴㄴ] (the suffix heuristic covers most; these are the standard's list).
        {U"의견란", U"의견난"}, {U"임진란", U"임진난"}, {U"생산량", U"생산냥"}, {U"결단력", U"결딴녁"},
        {U"공권력", U"공꿘녁"}, {U"동원령", U"동원녕"}, {U"상견례", U"상견녜"}, {U"횡단로", U"횡단노"},
        {U"이원론", U"이원논"}, {U"입원료", U"입원뇨"}, {U"구근류", U"구근뉴"}, {U"대관령", U"대괄령"},
        // 제26항: Sino-Korean ㄹ + ㄷ/ㅅ/ㅈ.
        {U"갈등", U"갈뜽"}, {U"발동", U"발똥"}, {U"절도", U"절또"}, {U"말살", U"말쌀"}, {U"불소", U"불쏘"},
        {U"일시", U"일씨"}, {U"갈증", U"갈쯩"}, {U"물질", U"물찔"}, {U"발전", U"발쩐"}, {U"몰상식", U"몰쌍식"},
        {U"불세출", U"불쎄출"}, {U"발달", U"발딸"}, {U"결정", U"결쩡"}, {U"일정", U"일쩡"}, {U"실수", U"실쑤"},
        {U"열심", U"열씸"}, {U"출석", U"출썩"}, {U"발생", U"발쌩"}, {U"설정", U"설쩡"}, {U"출장", U"출짱"},
        {U"활동", U"활똥"}, {U"일단", U"일딴"}, {U"절대", U"절때"}, {U"결석", U"결썩"}, {U"실제", U"실쩨"},
        {U"설득", U"설뜩"}, {U"열정", U"열쩡"}, {U"철저", U"철쩌"}, {U"결제", U"결쩨"}, {U"실시", U"실씨"},
        {U"일주일", U"일쭈일"}, {U"몰두", U"몰뚜"}, {U"밀도", U"밀또"}, {U"결단", U"결딴"}, {U"발사", U"발싸"},
        {U"절실", U"절씰"}, {U"출신", U"출씬"}, {U"실질", U"실찔"}, {U"일상", U"일쌍"}, {U"필수", U"필쑤"},
        {U"별도", U"별또"}, {U"결산", U"결싼"}, {U"발송", U"발쏭"}, {U"출산", U"출싼"}, {U"팔자", U"팔짜"},
        {U"물자", U"물짜"}, {U"글자", U"글짜"}, {U"실장", U"실짱"}, {U"발자국", U"발짜국"},
        // 제28항 and common compounds with tensing (사잇소리 without ㅅ).
        {U"문고리", U"문꼬리"}, {U"눈동자", U"눈똥자"}, {U"신바람", U"신빠람"}, {U"산새", U"산쌔"},
        {U"손재주", U"손째주"}, {U"길가", U"길까"}, {U"물동이", U"물똥이"}, {U"발바닥", U"발빠닥"},
        {U"굴속", U"굴쏙"}, {U"술잔", U"술짠"}, {U"바람결", U"바람껼"}, {U"그믐달", U"그믐딸"},
        {U"아침밥", U"아침빱"}, {U"잠자리", U"잠짜리"}, {U"강가", U"강까"}, {U"초승달", U"초승딸"},
        {U"등불", U"등뿔"}, {U"창살", U"창쌀"}, {U"강줄기", U"강쭐기"}, {U"술집", U"술찝"},
        {U"일자리", U"일짜리"}, {U"말소리", U"말쏘리"}, {U"물소리", U"물쏘리"}, {U"물가", U"물까"},
        {U"물건", U"물껀"}, {U"안방", U"안빵"}, {U"보름달", U"보름딸"}, {U"손등", U"손뜽"},
        {U"발등", U"발뜽"}, {U"길거리", U"길꺼리"}, {U"밤길", U"밤낄"}, {U"산길", U"산낄"},
        {U"술병", U"술뼝"}, {U"봄바람", U"봄빠람"}, {U"잠결", U"잠껼"}, {U"문법", U"문뻡"},
        {U"인기", U"인끼"}, {U"사건", U"사껀"}, {U"조건", U"조껀"}, {U"성격", U"성껵"},
        {U"가능성", U"가능썽"}, {U"여권", U"여꿘"}, {U"점수", U"점쑤"}, {U"평가", U"평까"},
        {U"내과", U"내꽈"}, {U"외과", U"외꽈"}, {U"문자", U"문짜"},
        {U"용돈", U"용똔"}, {U"눈길", U"눈낄"}, {U"손길", U"손낄"},
        // 제29항: ㄴ insertion ([ㄴ], or [ㄹ] after ㄹ).
        {U"솜이불", U"솜니불"}, {U"홑이불", U"홑니불"}, {U"막일", U"막닐"}, {U"삯일", U"삯닐"},
        {U"맨입", U"맨닙"}, {U"꽃잎", U"꽃닙"}, {U"내복약", U"내복냑"}, {U"한여름", U"한녀름"},
        {U"남존여비", U"남존녀비"}, {U"신여성", U"신녀성"}, {U"색연필", U"색년필"},
        {U"직행열차", U"직행녈차"}, {U"늑막염", U"늑막념"}, {U"콩엿", U"콩녇"}, {U"담요", U"담뇨"},
        {U"눈요기", U"눈뇨기"}, {U"영업용", U"영업뇽"}, {U"식용유", U"식용뉴"}, {U"백분율", U"백분뉼"},
        {U"밤윷", U"밤뉻"}, {U"들일", U"들릴"}, {U"솔잎", U"솔립"}, {U"설익", U"설릭"}, {U"물약", U"물략"},
        {U"불여우", U"불려우"}, {U"서울역", U"서울력"}, {U"물엿", U"물렫"}, {U"휘발유", U"휘발류"},
        {U"깻잎", U"깯닙"}, {U"나뭇잎", U"나묻닙"}, {U"집안일", U"지반닐"}, {U"볼일", U"볼릴"},
        {U"할 일", U"할 릴", true},
        {U"앞일", U"앞닐"}, {U"옛일", U"옏닐"}, {U"부엌일", U"부엌닐"}, {U"늦여름", U"늦녀름"},
        {U"알약", U"알략"}, {U"영업일", U"영업닐"},
        // Numerals: ㄴ insertion before 육 (십육 [심뉵], 백육 [뱅뉵]); native tens + 여섯/여덟/일곱 are
        // generated below (열여섯 [열려섣], 서른일곱 [서른닐곱]).
        {U"십육", U"십뉵"}, {U"백육", U"백뉵"}, {U"천육", U"천뉵"}, {U"만육", U"만뉵"},
        // 제15항: a coda before a vowel-initial content morpheme is neutralised before it links.
        {U"겉옷", U"거돋"}, {U"헛웃음", U"허두슴"}, {U"맛없", U"마덥"}, {U"멋없", U"머덥"},
        {U"값어치", U"가버치"}, {U"넋없", U"너겁"},
    };
    static const std::vector<Entry> kAll = [] {
        std::vector<Entry> all = kEntries;
        // Storage for the generated spellings (never resized after the views are taken).
        static std::vector<std::u32string> storage;
        const std::u32string_view tens[] = {U"열", U"스물", U"서른", U"마흔", U"쉰", U"예순", U"일흔", U"여든", U"아흔"};
        const std::pair<std::u32string_view, std::u32string_view> units[] = {
            {U"여섯", U"녀섯"}, {U"여덟", U"녀덟"}, {U"일곱", U"닐곱"}};
        storage.reserve(std::size(tens) * std::size(units) * 2);
        for (auto t : tens) {
            const bool rieul = t == U"열" || t == U"스물";
            for (const auto& [unit, inserted] : units) {
                std::u32string spoken(inserted);
                if (rieul) spoken[0] = spoken[0] == U'녀' ? U'려' : U'릴';
                storage.push_back(std::u32string(t) + std::u32string(unit));
                const std::u32string_view written = storage.back();
                storage.push_back(std::u32string(t) + spoken);
                all.push_back({written, storage.back(), false});
            }
        }
        return all;
    }();
    return kAll;
}

bool is_compound_coda_noun(char32_t syllable) {
    static const char32_t kNouns[] = {U'닭', U'흙', U'칡', U'삵', U'삶', U'앎', U'덟', U'곬'};
    return std::find(std::begin(kNouns), std::end(kNouns), syllable) != std::end(kNouns);
}

const std::vector<std::u32string_view>& nasal_verb_stems() {
    static const std::vector<std::u32string_view> kStems = {
        U"신", U"껴안", U"끌어안", U"감", U"남", U"넘", U"담", U"삼", U"숨", U"심", U"참", U"품", U"더듬",
        U"보듬", U"머금", U"굶", U"옮"};
    return kStems;
}

const std::vector<std::u32string_view>& nasal_verb_endings() {
    static const std::vector<std::u32string_view> kEndings = {
        U"다", U"고", U"지", U"게", U"더라", U"던", U"도록", U"소", U"자", U"다가", U"더니", U"지만",
        U"고요", U"지요", U"죠", U"거나", U"거든", U"기로", U"겠"};
    return kEndings;
}

bool is_nasal_stem_lookalike(std::u32string_view word) {
    static const std::u32string_view kWords[] = {
        U"참고", U"신고", U"감자", U"감기", U"감소", U"감도", U"남도", U"삼고", U"심지", U"숨지", U"감지",
        U"담소", U"신자", U"남자", U"참자", U"심사", U"감사", U"감독", U"담당", U"심도", U"신도", U"삼자", U"품질", U"감정", U"남자들"};
    return contains(kWords, word);
}

bool is_ui_noun(std::u32string_view s) {
    static const std::u32string_view kNouns[] = {
        U"회의", U"주의", U"동의", U"정의", U"논의", U"합의", U"문의", U"의의", U"강의", U"예의", U"결의",
        U"협의", U"건의", U"질의", U"모의", U"토의", U"유의", U"편의", U"임의", U"호의", U"경의", U"고의",
        U"사의", U"창의", U"본의", U"대의", U"민의", U"신의", U"수의", U"심의", U"자의", U"적의", U"하의",
        U"상의", U"거의", U"부의", U"성의", U"열의", U"의의", U"여의", U"탈의", U"회의실"};
    return contains(kNouns, s);
}

bool is_nn_suffix(char32_t syllable) {
    static const char32_t kSuffixes[] = {U'란', U'량', U'력', U'론', U'료', U'류', U'령', U'례', U'로', U'뢰', U'률'};
    return std::find(std::begin(kSuffixes), std::end(kSuffixes), syllable) != std::end(kSuffixes);
}

bool is_particle(std::u32string_view s) { return contains(kParticles, s); }

bool is_bound_noun_phrase(std::u32string_view next_word) {
    static const std::u32string_view kBound[] = {U"수", U"것", U"거", U"걸", U"게", U"데", U"줄", U"적",
                                                 U"바", U"뻔", U"듯", U"곳", U"지", U"겁", U"건"};
    if (next_word.empty()) return false;
    const std::u32string_view head = next_word.substr(0, 1);
    if (!contains(kBound, head)) return false;
    const std::u32string_view rest = next_word.substr(1);
    if (rest.empty()) return true;
    static const std::u32string_view kAfterBound[] = {U"록", U"밖에", U"있", U"없", U"이다", U"야", U"예요",
                                                      U"에요", U"지", U"죠", U"같", U"처럼", U"도", U"만"};
    if (is_particle(rest)) return true;
    for (auto a : kAfterBound)
        if (rest.substr(0, a.size()) == a) return true;
    return false;
}

bool is_rieul_noun(std::u32string_view word) {
    static const std::u32string_view kNouns[] = {U"오늘", U"하늘", U"서울", U"마을", U"겨울", U"이틀", U"사흘",
                                                 U"나흘", U"얼굴", U"물",   U"불",   U"길",   U"달",   U"발",
                                                 U"술",   U"글",   U"칼",   U"쌀",   U"돌",   U"별",   U"딸",
                                                 U"아들", U"그날", U"이날", U"매일", U"내일", U"모델", U"호텔"};
    if (contains(kNouns, word)) return true;
    return !word.empty() && word.back() == U'일';
}

}  // namespace troupe::sovits::text::lexicon
