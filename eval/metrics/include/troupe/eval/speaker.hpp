// troupe/eval/speaker.hpp — speaker similarity (cosine) and speaker confusion by nearest-centroid
// identification among enrolled characters, over embeddings from a speaker-encoder plugin.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace troupe::eval {

using Embedding = std::vector<float>;

/// Cosine similarity; 0 when either vector is zero or sizes differ.
double cosine(const Embedding& a, const Embedding& b);
Embedding l2_normalized(const Embedding& v);
/// Mean of L2-normalised embeddings, renormalised (GE2E / d-vector practice).
Embedding centroid(const std::vector<Embedding>& embeddings);

struct Trial {
    std::string speaker;  // intended character
    Embedding embedding;
};

struct ConfusionResult {
    std::vector<std::string> speakers;             // enrolled, sorted; matrix order
    std::vector<std::vector<size_t>> matrix;       // [intended][predicted]
    size_t n = 0, confused = 0, skipped = 0;       // skipped: intended speaker not enrolled
    double confusion_rate = 0;
    std::vector<double> margins;                   // cos(target) − max cos(other), per scored trial
};
/// Identifies each trial as the enrolled centroid with the highest cosine.
ConfusionResult speaker_confusion(const std::map<std::string, Embedding>& centroids, const std::vector<Trial>& trials);

/// A 1–5 MOS-S from cosine, only via a calibration file from a listening test: points (cosine, score)
/// fitted isotonically (pool adjacent violators), then linearly interpolated and clamped at the ends.
class SimilarityCalibration {
public:
    /// Reads a JSON file {"method": "...", "points": [[cosine, smos], ...]}; throws troupe::Error.
    static SimilarityCalibration load(const std::string& path);
    static SimilarityCalibration from_points(std::vector<std::pair<double, double>> points, std::string method);
    double map(double cosine) const;
    const std::string& method() const { return method_; }
    const std::vector<std::pair<double, double>>& knots() const { return knots_; }

private:
    std::vector<std::pair<double, double>> knots_;
    std::string method_;
};

}  // namespace troupe::eval
