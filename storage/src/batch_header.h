// ReductStore's batch protocol (v1): one request or response carries many
// records of one entry. Each record has a header
//   x-reduct-time-<timestamp_us>: <content_length>,<content_type>,k=v,...
// (a value with a comma is quoted: k="a,b"), and the body is the records'
// bytes back to back in timestamp order.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "vigil/storage/reduct_client.h"

namespace vigil::storage::batch {

std::string time_header(std::uint64_t timestamp_us);

// The header value for `record`. Throws vigil::Error naming the label when
// a value holds a double quote, which the format cannot carry.
std::string format_header(const Record& record);

// The parsed header value; data is left empty.
Record parse_header(std::uint64_t timestamp_us, const std::string& value,
                    std::uint64_t* content_length);

// Per-record failures of a batch write, from x-reduct-error-<ts> headers
// ("<status>,<message>").
std::map<std::uint64_t, RecordError> parse_errors(const HttpResponse& response);

// Appends the records of a batch-read response in timestamp order. With
// metadata_only the body is empty and so is each Record::data. Throws
// vigil::Error when the body is shorter than the headers announce.
void split_records(const HttpResponse& response, bool metadata_only,
                   std::vector<Record>* records);

}  // namespace vigil::storage::batch
