// Unit tests: long-text splitting (upstream cut methods and pre_seg_text).
#include <boost/test/unit_test.hpp>

#include <text/text_split.hpp>

#include <troupe/status.hpp>

using namespace troupe::sovits::text;

BOOST_AUTO_TEST_CASE(cut_methods) {
    BOOST_TEST(cut_text("안녕. 반가워요", CutMethod::cut0) == "안녕. 반가워요");
    BOOST_TEST(cut_text("하나, 둘. 셋? 넷!", CutMethod::cut5) == "하나,\n 둘.\n 셋?\n 넷!");
    BOOST_TEST(cut_text("값은 3.5배야. 좋아", CutMethod::cut5) == "값은 3.5배야.\n 좋아");
    BOOST_TEST(cut_text("값은 3.5배야. 좋아", CutMethod::cut4) == "값은 3.5배야\n 좋아");
    BOOST_TEST(cut_text("가。나。", CutMethod::cut3) == "가\n나");
    BOOST_TEST(cut_text("가. 나, 다? 라! 마. 바.", CutMethod::cut1) == "가. 나, 다? 라!\n 마. 바.");
    BOOST_TEST(cut_text("정말?! 좋아요, 그럼... 가요", CutMethod::sentences) == "정말?!\n 좋아요, 그럼...\n 가요");
    BOOST_CHECK_THROW(parse_cut_method("cut9"), troupe::Error);
    BOOST_TEST(std::string(cut_method_name(parse_cut_method("cut5"))) == "cut5");
}

BOOST_AUTO_TEST_CASE(punctuation_runs) {
    BOOST_TEST(replace_consecutive_punctuation("뭐?!... 진짜--") == "뭐? 진짜-");
}

BOOST_AUTO_TEST_CASE(merge_short) {
    const std::vector<std::string> in = {"가.", "나.", "다라마바사.", "아."};
    const std::vector<std::string> out = {"가.나.다라마바사.아."};
    const auto merged = merge_short_text_in_array(in, 5);
    BOOST_REQUIRE(merged.size() == 1);
    BOOST_TEST(merged[0] == out[0]);
}

BOOST_AUTO_TEST_CASE(pre_seg) {
    const auto segs = pre_seg_text("오늘 회의는 세 시에 시작합니다. 자료는 미리 읽어 오세요. 질문 있나요", CutMethod::sentences);
    BOOST_REQUIRE(segs.size() == 3);
    BOOST_TEST(segs[0] == "오늘 회의는 세 시에 시작합니다.");
    BOOST_TEST(segs[2] == " 질문 있나요。");
    const auto short_first = pre_seg_text("네. 알겠습니다", CutMethod::cut0);
    BOOST_REQUIRE(short_first.size() == 1);
    BOOST_TEST(short_first[0] == "。네. 알겠습니다。");
    BOOST_CHECK_THROW(pre_seg_text("\n\n", CutMethod::cut5), troupe::Error);
    BOOST_CHECK_THROW(pre_seg_text("...", CutMethod::cut5), troupe::Error);
    std::string long_text;
    for (int i = 0; i < 120; ++i) long_text += "가나다라마바사아자,";
    const auto parts = split_big_text(long_text, 510);
    BOOST_TEST(parts.size() >= 3u);
}
