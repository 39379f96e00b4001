// tdsdiag-report --html: one self-contained page (inline CSS, JavaScript and SVG; no fetch of any
// kind) over connection tables: per server, connections and failed connections over time; outcomes;
// diagnoses with their fixes; the table of connections, sortable, with the display filter of each.
#pragma once

#include <string>
#include <vector>

#include "tdsdiag/report.hpp"

namespace tdsdiag {

// One table given to the report: its name as the user gave it, whether it was read, and why not.
struct HtmlTable {
    std::string name;
    std::string error;  // empty when read
};

// `rows` and, for each row, the index in `tables` of the table it came from.
std::string html_page(const std::vector<Row>& rows, const std::vector<size_t>& row_table,
                      const std::vector<HtmlTable>& tables);

// Text for HTML element content and attribute values: & < > " ' as character references.
std::string html_escape(const std::string& s);
// A JSON string literal that is also safe inside an HTML <script> element: < > & and U+2028/U+2029
// escaped as \u sequences, so that no "</script>" or "<!--" can end or change the element.
std::string json_string(const std::string& s);

}  // namespace tdsdiag
