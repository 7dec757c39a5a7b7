#define BOOST_TEST_MODULE eval text metrics
#include <boost/test/unit_test.hpp>

#include <troupe/eval/copy_rate.hpp>
#include <troupe/eval/distinctiveness.hpp>
#include <troupe/eval/format.hpp>
#include <troupe/eval/latency.hpp>
#include <troupe/eval/line_length.hpp>
#include <troupe/eval/speech_level.hpp>
#include <troupe/eval/stats.hpp>
#include <troupe/eval/unicode.hpp>

#include <cmath>

using namespace troupe;
using namespace troupe::eval;

BOOST_AUTO_TEST_CASE(nfc_composes_hangul_jamo_and_latin) {
    // 한 = U+1112 U+1161 U+11AB (conjoining) → U+D55C; 글 = U+1100 U+1173 U+11AF
    std::u32string decomposed = U"\u1112\u1161\u11AB\u1100\u1173\u11AF";
    BOOST_TEST((nfc(decomposed) == U"한글"));
    BOOST_TEST(code_points(utf8_encode(decomposed)) == 2u);
    // LV syllable + T: 하 + ᆫ → 한
    BOOST_TEST((nfc(std::u32string(U"하\u11AB")) == U"한"));
    // e + combining acute → é; already composed text is unchanged
    BOOST_TEST(nfc(std::string("caf") + "e\xCC\x81") == "café");
    BOOST_TEST(nfc(std::string("안녕하세요 café")) == "안녕하세요 café");
    // compatibility jamo are not conjoining: ㅋㅋ stays two code points
    BOOST_TEST(code_points("ㅋㅋ") == 2u);
    // malformed UTF-8 becomes U+FFFD, never throws
    BOOST_TEST(utf8_decode(std::string("a\xFF" "b")).size() == 3u);
    auto j = decompose_syllable(U'합');
    BOOST_TEST(j.final == kFinalB);
    BOOST_TEST((compose_syllable(j.initial, j.medial, j.final) == U'합'));
    BOOST_TEST((to_lower(U'É') == U'é'));
    BOOST_TEST((to_lower(U'Č') == U'č'));
}

BOOST_AUTO_TEST_CASE(format_strict_and_loose) {
    FormatSpec spec;
    spec.speaker_tags = {"부장"};
    auto ok = check_format("오늘 회식은 내가 쏜다! 다들 고기 먹을 준비 됐지?", StopReason::eos, spec);
    BOOST_TEST(ok.strict());
    BOOST_TEST(ok.loose());
    // stopped on length: structure fine, but neither rate counts it
    auto len = check_format("오늘 회식은 내가 쏜다! 다들 고기", StopReason::length, spec);
    BOOST_TEST(len.strict_structure);
    BOOST_TEST(!len.strict());
    BOOST_TEST(!len.loose());
    // a stop on the "###" stop string: loose yes, strict no
    auto stop = check_format("알겠습니다.", StopReason::stop_string, spec);
    BOOST_TEST(!stop.strict());
    BOOST_TEST(stop.loose());
    // a new ### section inside the output fails both
    auto section = check_format("좋아요.\n### 상황: 다음 날\n부장: 그래", StopReason::eos, spec);
    BOOST_TEST(!section.strict());
    BOOST_TEST(!section.loose());
    // a trailing header line alone is trimmed by the loose rule only
    auto trailing = check_format("좋아요.\n### 상황:", StopReason::eos, spec);
    BOOST_TEST(!trailing.strict());
    BOOST_TEST(trailing.loose());
    // header line + speaker tag + markdown: strict fails, loose trims it
    auto wrapped = check_format("### 응답:\n**부장: 자네 오늘 멋지구만!**", StopReason::eos, spec);
    BOOST_TEST(!wrapped.strict());
    BOOST_TEST(wrapped.loose());
    BOOST_TEST(wrapped.cleaned == "자네 오늘 멋지구만!");
    BOOST_TEST(!check_format("", StopReason::eos, spec).loose());
    BOOST_TEST(!check_format("  앞에 공백", StopReason::eos, spec).strict());
    BOOST_TEST(check_format("끝에 줄바꿈 하나\n", StopReason::eos, spec).strict());
}

BOOST_AUTO_TEST_CASE(latency_percentiles) {
    std::vector<double> s = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    auto st = latency_stats(s, 8.5);
    BOOST_TEST(st.n == 10u);
    BOOST_TEST(st.p50 == 5.5, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(st.p90 == 9.1, boost::test_tools::tolerance(1e-12));  // numpy linear
    BOOST_TEST(st.max == 10.0);
    BOOST_TEST(st.share_within == 0.8, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(latency_stats({}).n == 0u);
}

BOOST_AUTO_TEST_CASE(line_length_counts_nfc_code_points) {
    // decomposed 한글 counts as 2, not 5
    BOOST_TEST(line_length("\u1112\u1161\u11AB\u1100\u1173\u11AF").with_spaces == 2u);
    auto l = line_length("  안녕 하세요!  ");
    BOOST_TEST(l.with_spaces == 7u);
    BOOST_TEST(l.without_spaces == 6u);
    auto st = length_stats({40, 50, 60, 70, 100});
    BOOST_TEST(st.mean == 64.0, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(st.q1 == 50.0);
    BOOST_TEST(st.q3 == 70.0);
    BOOST_TEST(st.iqr == 20.0);
    BOOST_TEST(st.share_in_range == 0.6, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(speech_levels_from_endings) {
    BOOST_TEST(int(sentence_level("보고서를 제출했습니다.")) == int(Level::hasipsio));
    BOOST_TEST(int(sentence_level("확인하셨습니까?")) == int(Level::hasipsio));
    BOOST_TEST(int(sentence_level("이쪽으로 오십시오")) == int(Level::hasipsio));
    BOOST_TEST(int(sentence_level("같이 갑시다!")) == int(Level::hasipsio));
    BOOST_TEST(int(sentence_level("제가 할게요~")) == int(Level::haeyo));
    BOOST_TEST(int(sentence_level("그건 좀 어렵죠")) == int(Level::haeyo));
    BOOST_TEST(int(sentence_level("밥 먹었어?ㅋㅋ")) == int(Level::banmal));
    BOOST_TEST(int(sentence_level("오늘 회식이다!")) == int(Level::banmal));
    BOOST_TEST(int(sentence_level("그거 내가 할게")) == int(Level::banmal));
    BOOST_TEST(int(sentence_level("OK")) == int(Level::ambiguous));
    BOOST_TEST(int(sentence_level("네.")) == int(Level::ambiguous));
    // an afterthought after a comma: the clause before it decides
    BOOST_TEST(int(sentence_level("다시 보낼까 봐요, 좀 민망하지만.")) == int(Level::haeyo));
    BOOST_TEST(int(sentence_level("진심으로 축하드립니다, 대리님.")) == int(Level::hasipsio));
    BOOST_TEST(int(sentence_level("그런데 이십 년째야, 허허.")) == int(Level::banmal));
    BOOST_TEST(int(sentence_level("오늘은 다들 눈치만 보는구먼.")) == int(Level::banmal));
    BOOST_TEST(int(sentence_level("빨리 결재 올려.")) == int(Level::banmal));
    BOOST_TEST(int(sentence_level("웃어 드릴게요, 오늘은 생일이니까.")) == int(Level::haeyo));
    auto sentences = split_sentences("알겠습니다! (고개를 끄덕인다) 바로 할게요... 괜찮아?");
    BOOST_TEST(sentences.size() == 3u);
    auto counts = count_levels({"알겠습니다! 바로 하겠습니다.", "좋아요. 네."});
    BOOST_TEST(counts.sentences[0] == 2u);
    BOOST_TEST(counts.sentences[1] == 1u);
    BOOST_TEST(counts.sentences[3] == 1u);
    BOOST_TEST(int(counts.dominant()) == int(Level::hasipsio));
}

BOOST_AUTO_TEST_CASE(jensen_shannon_known_values) {
    BOOST_TEST(jensen_shannon({1, 0}, {0, 1}) == 1.0, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(jensen_shannon({1, 1}, {2, 2}) == 0.0, boost::test_tools::tolerance(1e-12));
    // JS([1,0],[.5,.5]) = 0.5*log2(1/.75) + 0.25*log2(.5/.75)+0.25*log2(.5/.25)
    double expected = 0.5 * std::log2(1 / 0.75) + 0.25 * std::log2(0.5 / 0.75) + 0.25 * std::log2(0.5 / 0.25);
    BOOST_TEST(jensen_shannon({1, 0}, {1, 1}) == expected, boost::test_tools::tolerance(1e-12));
    std::map<std::string, LevelCounts> per;
    per["a"].sentences = {10, 0, 0, 0};
    per["b"].sentences = {0, 0, 5, 3};
    per["c"].sentences = {0, 0, 0, 4};  // no definite sentences: left out
    auto d = level_divergence(per);
    BOOST_TEST(d.pairwise.size() == 1u);
    BOOST_TEST(d.mean_pairwise == 1.0, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(distinctiveness_separates_styles_and_reports_chance) {
    std::vector<LabelledLine> lines;
    const char* topics[] = {"회식", "마감", "보고", "회의", "칭찬", "실수"};
    for (int t = 0; t < 6; ++t) {
        std::string topic = topics[t];
        lines.push_back({"bujang", topic, topic + " 얘기 좀 하자고~ 허허 내가 왕년에 말이야 ㅋㅋ"});
        lines.push_back({"bujang", topic, "자네 " + topic + " 준비는 됐나? 허허 농담이야~"});
        lines.push_back({"sinip", topic, topic + " 관련하여 정리해서 보고드리겠습니다."});
        lines.push_back({"sinip", topic, "말씀하신 " + topic + " 건은 근거를 확인하겠습니다."});
    }
    auto r = cross_validate(lines, 3);
    BOOST_TEST(r.ok);
    BOOST_TEST(r.folds == 3u);
    BOOST_TEST(r.chance == 0.5);
    BOOST_TEST(r.accuracy == 1.0);
    BOOST_TEST(r.chance_corrected == 1.0);
    BOOST_TEST(r.confusion[0][0] + r.confusion[1][1] == 24u);
    // one situation only: cannot split by situation
    std::vector<LabelledLine> one = {{"a", "x", "가나다"}, {"b", "x", "라마바"}};
    BOOST_TEST(!cross_validate(one).ok);
    // identical style: accuracy cannot beat chance systematically (all lines the same text)
    std::vector<LabelledLine> same;
    for (int g = 0; g < 4; ++g) {
        same.push_back({"a", std::to_string(g), "똑같은 문장입니다."});
        same.push_back({"b", std::to_string(g), "똑같은 문장입니다."});
    }
    auto s = cross_validate(same, 4);
    BOOST_TEST(s.accuracy == 0.5);
    BOOST_TEST(s.chance_corrected == 0.0);
}

BOOST_AUTO_TEST_CASE(copy_rate_exact_and_near) {
    CopyIndex index({"오늘 회식은 내가 쏜다!", "보고서는 내일까지 제출하겠습니다."});
    auto exact = index.match("오늘  회식은 내가 쏜다!");  // extra space only
    BOOST_TEST(exact.exact);
    auto near = index.match("보고서는 내일까지 꼭 제출하겠습니다.");
    BOOST_TEST(!near.exact);
    BOOST_TEST(near.best_index == 1);
    BOOST_TEST(near.best_jaccard > 0.7);
    BOOST_TEST(char_jaccard("가나다라", "가나다라") == 1.0);
    BOOST_TEST(char_jaccard("가나다라", "마바사아") == 0.0);
    // 가나다, 나다라 vs 가나다, 나다마 : 1 shared of 3 → 1/3
    BOOST_TEST(char_jaccard("가나다라", "가나다마") == 1.0 / 3, boost::test_tools::tolerance(1e-12));
    auto r = copy_rate(index, {"오늘 회식은 내가 쏜다!", "보고서는 내일까지 꼭 제출하겠습니다.", "전혀 다른 말"}, 0.7);
    BOOST_TEST(r.exact == 1u);
    BOOST_TEST(r.near == 2u);
    BOOST_TEST(r.near_rate == 2.0 / 3, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(wilson_interval) {
    auto w = wilson(0, 300);
    BOOST_TEST(w.low < 1e-12);
    BOOST_TEST(w.high < 0.0127);  // ~ rule of three 3/300 = 0.01, Wilson gives 0.0126
    auto h = wilson(5, 10);
    BOOST_TEST(h.low == 0.2366, boost::test_tools::tolerance(1e-3));
    BOOST_TEST(h.high == 0.7634, boost::test_tools::tolerance(1e-3));
}

BOOST_AUTO_TEST_CASE(bootstrap_interval_of_the_mean) {
    auto c = bootstrap_mean({3.5, 3.5, 3.5});
    BOOST_TEST(c.low == 3.5);
    BOOST_TEST(c.high == 3.5);
    std::vector<double> v;
    for (int i = 0; i < 100; ++i) v.push_back(3.0 + (i % 10) * 0.1);  // mean 3.45, sd ~0.29
    auto b = bootstrap_mean(v);
    BOOST_TEST(b.low < 3.45);
    BOOST_TEST(b.high > 3.45);
    BOOST_TEST(b.high - b.low == 2 * 1.96 * 0.2872 / 10, boost::test_tools::tolerance(0.15));  // ~ normal interval
    auto again = bootstrap_mean(v);  // deterministic
    BOOST_TEST(again.low == b.low);
    BOOST_TEST(std::isnan(bootstrap_mean({}).low));
}
