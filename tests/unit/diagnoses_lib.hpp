// What the rule tests read of a Run: the codes standing on each frame, and one frame's diagnosis.
#pragma once

#include <map>
#include <set>
#include <string>

#include "builders.hpp"
#include "catch_compat.hpp"

namespace test {

// frame number -> names of the codes diagnosed on it (retracted ones left out)
inline std::map<int, std::set<std::string>> diagnoses(const Run& run, uint32_t stream = 0) {
    std::map<int, std::set<std::string>> m;
    for (size_t i = 0; i < run.results.size(); ++i)
        for (const auto& d : run.results[i].diagnoses) {
            // Wireshark cuts expert texts at 240 bytes; every text must fit, whatever the evidence.
            CHECK(d.text.size() <= tdsdiag::kMaxTextLength);
            const auto frame = static_cast<uint32_t>(i + 1);
            const auto* c = run.analyzer.find(stream);
            if (c && c->holds(frame, d.code)) m[static_cast<int>(frame)].insert(tdsdiag::code_info(d.code).name);
        }
    return m;
}
inline const tdsdiag::Diagnosis* find(const Run& run, int frame, tdsdiag::Code code) {
    for (const auto& d : run.results.at(static_cast<size_t>(frame - 1)).diagnoses)
        if (d.code == code) return &d;
    return nullptr;
}
}  // namespace test
