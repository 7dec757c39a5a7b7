// The trainer on tiny models: LoRA SFT over the conformance base (prompt masked), base training
// from scratch lowers the loss, and resuming from a checkpoint reproduces the uninterrupted losses.
#define BOOST_TEST_MODULE trainer
#include <boost/test/unit_test.hpp>

#include "adapter.hpp"
#include "model.hpp"
#include "trainer.hpp"
#include "../common/conformance.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <boost/filesystem.hpp>

#include <cstdlib>
#include <fstream>

using namespace troupe::llama;
namespace fs = boost::filesystem;

namespace {

std::string conformance_dir() {
    return troupe::test::conformance_root().string();
}

fs::path work_dir(const std::string& name) {
    fs::path dir = fs::temp_directory_path() / ("troupe-train-" + std::to_string(::getpid())) / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

void write_persona(const fs::path& file, int count, int offset = 0) {
    std::ofstream out(file.string());
    const char* lines[] = {"자자, 오늘도 힘내 보자고! 커피 한 잔씩 하고 시작하자.", "확인해 보겠습니다. 근거 자료를 먼저 정리하겠습니다.",
                           "일단 제가 정리해 둘게요. 현실적으로 내일까지는 어려워요.", "좋아요, 일정부터 다시 봅시다. 우선순위를 정하세요."};
    for (int i = 0; i < count; ++i)
        out << "{\"instruction\": \"당신은 회사원입니다.\", \"input\": \"상황: 회의 " << (i + offset)
            << "번째 [지문: 고개를 든다]\", \"output\": \"" << lines[(i + offset) % 4] << "\", \"character\": \"c"
            << (i % 2) << "\"}\n";
}

std::vector<double> losses(const TrainSummary& s) {
    std::vector<double> out;
    for (auto& e : s.log) out.push_back(e.loss);
    return out;
}

TrainRecipe base_recipe(const fs::path& dir) {
    TrainRecipe r;
    r.mode = TrainRecipe::Mode::base;
    r.recipe_path = "(test)";
    r.hidden_size = 32;
    r.intermediate_size = 64;
    r.num_layers = 2;
    r.num_heads = 4;
    r.num_kv_heads = 2;
    r.vocab_size = 300;
    r.max_length = 48;
    r.batch_size = 4;
    r.learning_rate = 3e-3;
    r.warmup_ratio = 0.1;
    r.log_every = 1;
    r.seed = 5;
    write_persona(dir / "train.jsonl", 16);
    write_persona(dir / "valid.jsonl", 4, 1);
    r.train_files = {(dir / "train.jsonl").string()};
    r.valid_files = {(dir / "valid.jsonl").string()};
    r.output_dir = (dir / "out").string();
    return r;
}

auto quiet = [](const std::string&) {};

}  // namespace

BOOST_AUTO_TEST_CASE(base_training_from_scratch_lowers_the_loss_and_saves_a_loadable_model) {
    fs::path dir = work_dir("base");
    TrainRecipe r = base_recipe(dir);
    r.epochs = 10;  // 4 steps per epoch
    TrainSummary s = train(r, quiet, {});
    BOOST_REQUIRE_EQUAL(s.steps, 40);
    BOOST_TEST(s.log.back().loss < 0.6 * s.log.front().loss, "first " << s.log.front().loss << " last " << s.log.back().loss);
    BOOST_TEST(s.final_valid_loss > 0);
    BOOST_TEST(fs::exists(dir / "out" / "tokenizer.json"));
    BOOST_TEST(fs::exists(dir / "out" / "loss.svg"));
    Model m = Model::load((dir / "out").string());
    BOOST_TEST(m.config().hidden_size == 32);
    BOOST_TEST(m.config().num_layers == 2);
}

BOOST_AUTO_TEST_CASE(resuming_from_a_checkpoint_gives_the_same_losses) {
    fs::path dir = work_dir("resume");
    TrainRecipe r = base_recipe(dir);
    r.epochs = 2;
    r.save_every = 3;
    TrainSummary full = train(r, quiet, {});
    BOOST_REQUIRE_EQUAL(full.steps, 8);
    BOOST_REQUIRE(fs::exists(dir / "out" / "checkpoint-3" / "optimizer.safetensors"));

    TrainRecipe resumed = r;
    resumed.output_dir = (dir / "resumed").string();
    resumed.resume_from = (dir / "out" / "checkpoint-3").string();
    TrainSummary second = train(resumed, quiet, {});
    BOOST_REQUIRE_EQUAL(second.steps, 8);
    std::vector<double> a = losses(full), b = losses(second);
    BOOST_REQUIRE_EQUAL(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) BOOST_TEST(a[i] == b[i], boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(interrupting_saves_a_checkpoint) {
    fs::path dir = work_dir("interrupt");
    TrainRecipe r = base_recipe(dir);
    int polls = 0;
    TrainSummary s = train(r, quiet, [&] { return ++polls > 2; });
    BOOST_TEST(s.interrupted);
    BOOST_TEST(s.steps == 2);
    BOOST_TEST(fs::exists(dir / "out" / "checkpoint-2" / "trainer_state.json"));
}

BOOST_AUTO_TEST_CASE(lora_sft_trains_only_the_adapter_and_peft_layout_loads_back) {
    const std::string base = conformance_dir() + "/llama-lora/base";
    fs::path dir = work_dir("lora");
    write_persona(dir / "train.jsonl", 8);
    TrainRecipe r;
    r.mode = TrainRecipe::Mode::lora;
    r.recipe_path = "(test)";
    r.base_model = base;
    r.train_files = {(dir / "train.jsonl").string()};
    r.character = "c0";
    r.lora_r = 4;
    r.lora_alpha = 8;
    r.target_modules = {"q_proj", "v_proj", "o_proj"};
    r.batch_size = 2;
    r.epochs = 3;
    r.learning_rate = 5e-3;
    r.log_every = 1;
    r.output_dir = (dir / "out").string();
    TrainSummary s = train(r, quiet, {});
    BOOST_TEST(s.steps == 6);  // 4 examples of c0, 2 per step, 3 epochs
    BOOST_TEST(s.log.back().loss < s.log.front().loss);

    Model model = Model::load(base);
    Adapter adapter = Adapter::load(r.output_dir, model);
    BOOST_TEST(adapter.config().r == 4);
    BOOST_TEST(adapter.adapted_count() == 3 * model.config().num_layers);
    c10::NoGradGuard no_grad;
    at::Tensor ids = at::arange(1, 20, at::kLong);
    double delta = (model.logits(ids, &adapter) - model.logits(ids)).abs().max().item<double>();
    BOOST_TEST(delta > 1e-3);  // B was trained away from zero
}

// A malformed persona line is an invalid_file error naming file:line, not a JSON library exception.
BOOST_AUTO_TEST_CASE(malformed_persona_lines_name_the_file_and_line) {
    fs::path dir = work_dir("malformed");
    TrainRecipe r = base_recipe(dir);
    r.character = "c0";
    const std::vector<std::pair<std::string, std::string>> bad = {
        {R"({"instruction": "a", "input": "b", "output": "c", "character": 5})", "\"character\" must be a string"},
        {R"({"instruction": "a", "input": 7, "output": "c"})", "missing string field \"input\""},
        {R"([1, 2])", "missing string field \"instruction\""},
        {R"({"instruction": "a", )", "not valid JSON"}};
    for (const auto& [line, want] : bad) {
        {
            std::ofstream out((dir / "train.jsonl").string(), std::ios::app);
            out << line << "\n";
        }
        const std::string where = (dir / "train.jsonl").string() + ":17:";
        try {
            train(r, quiet, {});
            BOOST_ERROR("accepted: " << line);
        } catch (const troupe::Error& e) {
            BOOST_TEST((e.code() == troupe::Errc::invalid_file));
            BOOST_TEST(std::string(e.what()).find(where) != std::string::npos, e.what());
            BOOST_TEST(std::string(e.what()).find(want) != std::string::npos, e.what());
        }
        write_persona(dir / "train.jsonl", 16);  // back to 16 good lines
    }
}
