#include <troupe/eval/speaker.hpp>

#include <troupe/status.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

namespace troupe::eval {

double cosine(const Embedding& a, const Embedding& b) {
    if (a.size() != b.size() || a.empty()) return 0;
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        dot += double(a[i]) * b[i];
        na += double(a[i]) * a[i];
        nb += double(b[i]) * b[i];
    }
    if (na <= 0 || nb <= 0) return 0;
    return dot / std::sqrt(na * nb);
}

Embedding l2_normalized(const Embedding& v) {
    double n = 0;
    for (float x : v) n += double(x) * x;
    n = std::sqrt(n);
    Embedding out(v.size(), 0.f);
    if (n > 0)
        for (size_t i = 0; i < v.size(); ++i) out[i] = float(v[i] / n);
    return out;
}

Embedding centroid(const std::vector<Embedding>& embeddings) {
    if (embeddings.empty()) return {};
    Embedding sum(embeddings.front().size(), 0.f);
    for (const auto& e : embeddings) {
        if (e.size() != sum.size()) throw Error(Errc::invalid_argument, "centroid: embeddings of different sizes");
        Embedding n = l2_normalized(e);
        for (size_t i = 0; i < n.size(); ++i) sum[i] += n[i];
    }
    return l2_normalized(sum);
}

ConfusionResult speaker_confusion(const std::map<std::string, Embedding>& centroids, const std::vector<Trial>& trials) {
    ConfusionResult r;
    for (const auto& [name, c] : centroids) r.speakers.push_back(name);
    const size_t K = r.speakers.size();
    r.matrix.assign(K, std::vector<size_t>(K, 0));
    auto index = [&](const std::string& s) {
        auto it = std::find(r.speakers.begin(), r.speakers.end(), s);
        return it == r.speakers.end() ? K : size_t(it - r.speakers.begin());
    };
    for (const auto& t : trials) {
        size_t truth = index(t.speaker);
        if (truth == K) { r.skipped++; continue; }
        size_t best = 0;
        double best_cos = -2, target_cos = 0, other = -2;
        for (size_t k = 0; k < K; ++k) {
            double c = cosine(t.embedding, centroids.at(r.speakers[k]));
            if (c > best_cos) { best_cos = c; best = k; }
            if (k == truth) target_cos = c;
            else other = std::max(other, c);
        }
        r.matrix[truth][best]++;
        r.n++;
        if (best != truth) r.confused++;
        if (K > 1) r.margins.push_back(target_cos - other);
    }
    r.confusion_rate = r.n ? double(r.confused) / double(r.n) : 0;
    return r;
}

SimilarityCalibration SimilarityCalibration::from_points(std::vector<std::pair<double, double>> points, std::string method) {
    if (points.size() < 2) throw Error(Errc::invalid_argument, "similarity calibration needs at least 2 points");
    std::sort(points.begin(), points.end());
    // pool adjacent violators on y (non-decreasing in cosine)
    struct Block { double x_sum, y_sum; size_t n; };
    std::vector<Block> blocks;
    for (auto [x, y] : points) {
        blocks.push_back({x, y, 1});
        while (blocks.size() > 1 && blocks[blocks.size() - 2].y_sum / double(blocks[blocks.size() - 2].n) >
                                        blocks.back().y_sum / double(blocks.back().n)) {
            Block b = blocks.back();
            blocks.pop_back();
            blocks.back().x_sum += b.x_sum;
            blocks.back().y_sum += b.y_sum;
            blocks.back().n += b.n;
        }
    }
    SimilarityCalibration c;
    for (const auto& b : blocks) c.knots_.push_back({b.x_sum / double(b.n), b.y_sum / double(b.n)});
    c.method_ = std::move(method);
    return c;
}

double SimilarityCalibration::map(double x) const {
    if (knots_.empty()) return std::numeric_limits<double>::quiet_NaN();
    if (x <= knots_.front().first) return knots_.front().second;
    if (x >= knots_.back().first) return knots_.back().second;
    for (size_t i = 1; i < knots_.size(); ++i)
        if (x <= knots_[i].first) {
            auto [x0, y0] = knots_[i - 1];
            auto [x1, y1] = knots_[i];
            return x1 > x0 ? y0 + (y1 - y0) * (x - x0) / (x1 - x0) : y1;
        }
    return knots_.back().second;
}

SimilarityCalibration SimilarityCalibration::load(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(Errc::not_found, "similarity calibration file not found: " + path);
    nlohmann::json j;
    try {
        in >> j;
    } catch (const std::exception& e) {
        throw Error(Errc::invalid_file, path + ": not valid JSON: " + e.what());
    }
    if (!j.is_object() || !j.contains("points") || !j["points"].is_array())
        throw Error(Errc::invalid_file, path + ": expected {\"method\": …, \"points\": [[cosine, score], …]}");
    std::vector<std::pair<double, double>> points;
    for (const auto& p : j["points"]) {
        if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number())
            throw Error(Errc::invalid_file, path + ": each point must be [cosine, score]");
        points.push_back({p[0].get<double>(), p[1].get<double>()});
    }
    std::string method = j.value("method", std::string("listening test (unspecified)"));
    try {
        return from_points(std::move(points), method + " (isotonic fit, file " + path + ")");
    } catch (const Error& e) {
        throw Error(Errc::invalid_file, path + ": " + e.what());
    }
}

}  // namespace troupe::eval
