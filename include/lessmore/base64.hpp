#pragma once
// Base64 (RFC 4648, with padding): images in the HTML report, embeddings in run records.
#include <optional>
#include <string>

namespace lessmore {

std::string base64_encode(const std::string& bytes);
// Nothing when text is not canonical padded base64.
std::optional<std::string> base64_decode(const std::string& text);

}  // namespace lessmore
