#include "corpus.hpp"

#include <troupe/audio.hpp>

#include <espeak-ng/speak_lib.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>

namespace troupe::test {

namespace fs = std::filesystem;

namespace {

std::vector<float>* g_sink = nullptr;

int collect(short* wav, int n, espeak_EVENT*) {
    if (wav && g_sink)
        for (int i = 0; i < n; ++i) g_sink->push_back(wav[i] / 32768.f);
    return 0;
}

void write_file(const fs::path& p, const std::string& content) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
}

}  // namespace

std::vector<float> espeak_korean(const std::string& text, int& sample_rate) {
    static std::once_flag once;
    static int rate = 0;
    std::call_once(once, [] {
        rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nullptr, 0);
        espeak_SetSynthCallback(collect);
    });
    if (rate <= 0) throw std::runtime_error("espeak-ng: initialisation failed (espeak-ng-data installed?)");
    if (espeak_SetVoiceByName("ko") != EE_OK) throw std::runtime_error("espeak-ng: no Korean voice");
    std::vector<float> samples;
    g_sink = &samples;
    const espeak_ERROR err = espeak_Synth(text.c_str(), text.size() + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, nullptr, nullptr);
    espeak_Synchronize();
    g_sink = nullptr;
    if (err != EE_OK || samples.empty()) throw std::runtime_error("espeak-ng: synthesis failed for '" + text + "'");
    sample_rate = rate;
    return samples;
}

Corpus make_corpus(const std::string& dir) {
    Corpus c;
    const fs::path root = fs::path(dir) / "corpus";
    fs::remove_all(root);
    c.root = root.string();
    const fs::path tl = root / "Training" / "02.라벨링데이터" / "TL_D01_spk";
    const fs::path ts = root / "Training" / "01.원천데이터" / "TS_D01_spk";
    auto speak = [&](const fs::path& wav, const std::string& text) {
        Audio a;
        a.samples = espeak_korean(text, a.sample_rate);
        fs::create_directories(wav.parent_path());
        write_wav(wav.string(), a);
    };

    // 1. 감성 및 발화 스타일 shape: 파일정보 / 화자정보 / 전사정보, audio named by the label.
    {
        const std::string text = "안녕하세요. 만나서 반갑습니다.";
        const fs::path label = tl / "F001" / "F001_0001.json", audio = ts / "F001" / "F001_0001.wav";
        write_file(label, R"({"파일정보": {"FileName": "F001_0001.wav", "SamplingRate": 22050},
  "화자정보": {"SpeakerName": "F001", "Gender": "F"},
  "전사정보": {"OrgLabelText": "원문", "TransLabelText": ")" + text + R"("}})");
        speak(audio, text);
        c.good.push_back({label.string(), audio.string(), text});
    }
    // 2. flat shape with a numeric speaker id and no audio name (matched by the label's path),
    //    a dual transcription and a line break.
    {
        const std::string text = "오늘 회의는 (3시)/(세 시)에\n시작합니다!";
        const fs::path label = tl / "F001" / "F001_0002.json", audio = ts / "F001" / "F001_0002.wav";
        write_file(label, nlohmann::json{{"text", text}, {"speaker_id", 7}}.dump());
        speak(audio, "오늘 회의는 세 시에 시작합니다!");
        c.good.push_back({label.string(), audio.string(), text});
    }
    // 3. nested under a single-element array, audio in another sub-folder (found by name).
    {
        const std::string text = "네, 알겠습니다.";
        const fs::path label = tl / "M002" / "M002_0001.json", audio = ts / "other" / "M002_0001.wav";
        write_file(label, R"({"dataSet": {"utterances": [{"speaker": {"speaker_id": "M002"}, "wav": "M002_0001.wav", "text": ")" +
                              text + R"("}]}})");
        speak(audio, text);
        c.good.push_back({label.string(), audio.string(), text});
    }
    // Bad files.
    c.broken_label = (tl / "F001" / "F001_0003.json").string();
    write_file(c.broken_label, R"({"전사정보": {"TransLabelText": "끝나지 않은 JSON)");
    speak(ts / "F001" / "F001_0003.wav", "끝");
    c.textless_label = (tl / "F001" / "F001_0004.json").string();
    write_file(c.textless_label, R"({"파일정보": {"FileName": "F001_0004.wav"}, "화자정보": {"SpeakerName": "F001"}})");
    speak(ts / "F001" / "F001_0004.wav", "끝");
    {
        const fs::path label = tl / "F001" / "F001_0005.json";
        c.unreadable_audio = (ts / "F001" / "F001_0005.wav").string();
        write_file(label, R"({"전사정보": {"TransLabelText": "이 파일은 읽을 수 없습니다."}, "화자정보": {"SpeakerName": "F001"}})");
        write_file(c.unreadable_audio, "RIFF but not a WAV file: junk");
    }
    c.orphan_audio = (ts / "F001" / "F001_0006.wav").string();
    speak(c.orphan_audio, "라벨 없음");
    return c;
}

}  // namespace troupe::test
