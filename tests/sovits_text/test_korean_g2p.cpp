// Unit tests: Korean pronunciation rules on examples of 표준 발음법, number reading, and phones.
#define BOOST_TEST_MODULE sovits_text_unit
#include <boost/test/unit_test.hpp>

#include <text/frontend.hpp>
#include <text/korean_g2p.hpp>
#include <text/korean_numbers.hpp>
#include <text/utf8.hpp>

#include <troupe/status.hpp>

using namespace troupe::sovits::text;

namespace {

std::string pron(const std::string& text) {
    static const KoreanG2p g2p;
    return g2p.apply(std::string_view(text));
}

std::string num(const std::string& text) { return u32_to_utf8(normalize_numbers(utf8_to_u32(text))); }

void check_pairs(std::initializer_list<std::pair<const char*, const char*>> pairs) {
    for (const auto& [written, spoken] : pairs) BOOST_TEST(pron(written) == spoken, written << " → " << spoken);
}

}  // namespace

BOOST_AUTO_TEST_CASE(final_consonants_and_compound_codas) {  // 제9–11항
    check_pairs({{"닭", "닥"}, {"옷", "옫"}, {"부엌", "부억"}, {"앞", "압"}, {"흙", "흑"}, {"삶", "삼"},
                 {"넋", "넉"}, {"여덟", "여덜"}, {"외곬", "외골"}, {"값", "갑"}, {"젊다", "점따"},
                 {"핥다", "할따"}, {"읊다", "읍따"}, {"없다", "업따"}, {"읽다", "익따"}, {"밟다", "밥따"},
                 {"넓다", "널따"}, {"맑게", "말께"}, {"넓죽하다", "넙쭈카다"}, {"히읗", "히읃"}});
}

BOOST_AUTO_TEST_CASE(h_rules) {  // 제12항
    check_pairs({{"좋다", "조타"}, {"놓고", "노코"}, {"쌓지", "싸치"}, {"많고", "만코"}, {"닳지", "달치"},
                 {"입학", "이팍"}, {"축하", "추카"}, {"맏형", "마텽"}, {"앉히다", "안치다"}, {"밝히다", "발키다"},
                 {"닿소", "다쏘"}, {"많소", "만쏘"}, {"싫소", "실쏘"}, {"놓는", "논는"}, {"않네", "안네"},
                 {"뚫는", "뚤른"}, {"낳은", "나은"}, {"좋아요", "조아요"}, {"많아", "마나"}, {"싫어", "시러"}});
}

BOOST_AUTO_TEST_CASE(liaison) {  // 제13–14, 16항
    check_pairs({{"값이", "갑씨"}, {"닭이", "달기"}, {"흙을", "흘글"}, {"앉아", "안자"}, {"넋이", "넉씨"},
                 {"젊어", "절머"}, {"곬이", "골씨"}, {"핥아", "할타"}, {"읊어", "을퍼"}, {"없어", "업써"},
                 {"있어요", "이써요"}, {"디귿이", "디그시"}, {"키읔이", "키으기"}, {"피읖이", "피으비"},
                 {"겉옷", "거돋"}, {"맛없다", "마덥따"}});
}

BOOST_AUTO_TEST_CASE(palatalisation) {  // 제17항
    check_pairs({{"같이", "가치"}, {"굳이", "구지"}, {"밭이", "바치"}, {"해돋이", "해도지"}, {"닫히다", "다치다"},
                 {"묻히다", "무치다"}, {"벼훑이", "벼훌치"}});
}

BOOST_AUTO_TEST_CASE(nasalisation_and_liquids) {  // 제18–20항
    check_pairs({{"국물", "궁물"}, {"밥물", "밤물"}, {"읽는", "잉는"}, {"밟는", "밤는"}, {"닫는", "단는"},
                 {"담력", "담녁"}, {"강릉", "강능"}, {"막론", "망논"}, {"협력", "혐녁"}, {"백리", "뱅니"},
                 {"신라", "실라"}, {"난로", "날로"}, {"천리", "철리"}, {"칼날", "칼랄"}, {"물난리", "물랄리"},
                 {"의견란", "의견난"}, {"생산량", "생산냥"}, {"판단력", "판단녁"}, {"감사합니다", "감사함니다"}});
}

BOOST_AUTO_TEST_CASE(tensing) {  // 제23–27항
    check_pairs({{"국밥", "국빱"}, {"먹고", "먹꼬"}, {"옷고름", "옫꼬름"}, {"있던", "읻떤"}, {"꽂고", "꼳꼬"},
                 {"앉고", "안꼬"}, {"신고", "신고"}, {"신다", "신따"}, {"감고", "감꼬"}, {"넓게", "널께"},
                 {"갈등", "갈뜽"}, {"일시", "일씨"}, {"했습니다", "핻씀니다"}, {"할 수 있다", "할 쑤 읻따"},
                 {"갈 데가", "갈 떼가"}, {"할걸", "할껄"}, {"할수록", "할쑤록"}, {"할게요", "할께요"}, {"갈게.", "갈께."}, {"알게 되다", "알게 되다"}, {"넓적하다", "넙쩌카다"},
                 {"오늘 수업", "오늘 수업"}});
}

BOOST_AUTO_TEST_CASE(n_insertion_and_vowels) {  // 제29항, 제5항
    check_pairs({{"솜이불", "솜니불"}, {"꽃잎", "꼰닙"}, {"색연필", "생년필"}, {"솔잎", "솔립"},
                 {"서울역", "서울력"}, {"휘발유", "휘발류"}, {"희망", "히망"}, {"회의", "회이"},
                 {"우리의", "우리에"}, {"의사", "의사"}, {"가져", "가저"}, {"다쳐", "다처"}});
}

BOOST_AUTO_TEST_CASE(no_rules_across_plain_spaces) {
    check_pairs({{"첫 줄", "첟 줄"}, {"각 한", "각 한"}, {"보고서는 언제까지", "보고서는 언제까지"}});
}

BOOST_AUTO_TEST_CASE(numbers) {
    BOOST_TEST(num("3개") == "세개");
    BOOST_TEST(num("12시 30분") == "열두시 삼십분");
    BOOST_TEST(num("2024년 3월") == "이천이십사년 삼월");
    BOOST_TEST(num("6월 10월") == "유월 시월");
    BOOST_TEST(num("10000원") == "만원");
    BOOST_TEST(num("1,500,000원") == "백오십만원");
    BOOST_TEST(num("100000000") == "일억");
    BOOST_TEST(num("21살 20살") == "스물한살 스무살");
    BOOST_TEST(num("101개") == "백한개");
    BOOST_TEST(num("1번째") == "첫번째");
    BOOST_TEST(num("20대 3대") == "이십대 세대");
    BOOST_TEST(num("3.14") == "삼점일사");
    BOOST_TEST(num("12%") == "십이 퍼센트");
    BOOST_TEST(num("010") == "공일공");
    BOOST_TEST(num("큐3") == "큐삼");
    BOOST_TEST(num("1, 2, 3") == "일, 이, 삼");
    BOOST_TEST(num("0") == "영");
    KoreanFrontend fe;
    BOOST_TEST(fe.run("16개").pronounced == "열려섣깨");
    BOOST_TEST(fe.run("16").pronounced == "심뉵");
    BOOST_TEST(fe.run("37살").pronounced == "서른닐곱쌀");
    BOOST_TEST(u32_to_utf8(read_sino_number(U"1001")) == "천일");
    BOOST_TEST(u32_to_utf8(read_native_number(U"99")) == "아흔아홉");
}

BOOST_AUTO_TEST_CASE(full_pipeline_phones) {
    KoreanFrontend fe;
    const auto st = fe.run("국물");
    BOOST_TEST(st.pronounced == "궁물");
    const std::vector<std::string> phones = {"ㄱ", "ㅜ", "ㅇ", "ㅁ", "ㅜ", "ㄹ", "."};
    BOOST_TEST(st.phones == phones, boost::test_tools::per_element());
    const std::vector<int> ids = {324, 348, 335, 330, 348, 329, 3};
    BOOST_TEST(st.ids == ids, boost::test_tools::per_element());

    const auto ok = fe.run("OK, 3개요!");
    BOOST_TEST(ok.latin_to_hangul == "오케이, 3개요!");
    BOOST_TEST(ok.numbers == "오케이, 세개요!");
    BOOST_TEST(ok.final_period == "ㅇㅗㅋㅔㅇㅣ, ㅅㅔㄱㅐㅇㅣㅗ!");

    const auto gat = fe.run("같이 가요");
    const std::vector<std::string> gat_phones = {"ㄱ", "ㅏ", "ㅊ", "ㅣ", "空", "ㄱ", "ㅏ", "ㅇ", "ㅣ", "ㅗ", "."};
    BOOST_TEST(gat.phones == gat_phones, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(prompt_and_target_preparation) {
    KoreanFrontend fe;
    const auto p = fe.prepare_prompt("\n안녕하세요\n");
    BOOST_TEST(p.text == "안녕하세요。");
    BOOST_TEST(p.phones.back() == ".");
    const auto short_prompt = fe.prepare_prompt("네");  // < 6 phones: re-run with a leading "."
    BOOST_TEST(short_prompt.text == ".네。");
    BOOST_TEST(short_prompt.phones.size() == 4u);
    BOOST_CHECK_THROW(fe.prepare_prompt("\n"), troupe::Error);
    const auto segs = fe.prepare_target("좋아!!!  내일   봐요. 그럼 안녕히 계세요", CutMethod::sentences);
    BOOST_REQUIRE(segs.size() == 2u);
    BOOST_TEST(segs[0].text == "。좋아! 내일 봐요.");  // a first sentence under 4 characters gets 。
    BOOST_TEST(segs[1].text == " 그럼 안녕히 계세요。");
}

BOOST_AUTO_TEST_CASE(bad_input) {
    KoreanFrontend fe;
    BOOST_CHECK_THROW(fe.run(std::string("\xff\xfe")), troupe::Error);
    BOOST_CHECK_THROW(fe.run(std::string("\xe1\x84")), troupe::Error);
    BOOST_TEST(fe.run("").phones.empty());
}

BOOST_AUTO_TEST_CASE(random_text_never_crashes) {
    // Random mixes of syllables, jamo, digits, Latin, punctuation and symbols: the pipeline returns
    // phones that are all in the table, or throws troupe::Error for invalid input only.
    KoreanFrontend fe;
    uint32_t state = 12345;
    auto next = [&] { state = state * 1664525u + 1013904223u; return state >> 8; };
    const char32_t pools[][2] = {{0xAC00, 0xD7A3}, {0x3131, 0x318E}, {0x1100, 0x11FF}, {U'0', U'9'},
                                 {U'A', U'z'},     {0x20, 0x2F},     {0x3000, 0x303F}, {0x1F600, 0x1F64F}};
    for (int iter = 0; iter < 2000; ++iter) {
        std::u32string s;
        const int len = static_cast<int>(next() % 40);
        for (int i = 0; i < len; ++i) {
            const auto& p = pools[next() % 8];
            s.push_back(p[0] + next() % (p[1] - p[0] + 1));
        }
        const auto st = fe.run(u32_to_utf8(s));
        BOOST_REQUIRE(st.phones.size() == st.ids.size());
        for (int id : st.ids) BOOST_REQUIRE(id >= 0 && id < 732);
    }
}
