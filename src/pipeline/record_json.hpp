#pragma once
// The field access and value helpers the run record's code shares (run_record.cpp,
// run_parameters.cpp): checked reads that name the field at fault (RecordFormatError), and
// the few ways records write optional values. Only the run record's own sources include it.
#include "pipeline/run_record.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace lessmore::record_json {

using Json = OrderedJson;

inline Json number_or_null(const std::optional<double>& v) {
    if (!v || !std::isfinite(*v)) return nullptr;
    // Whole numbers (Hamming distances, most z) print without a fraction.
    if (std::floor(*v) == *v && std::fabs(*v) < 9e15) return static_cast<long long>(*v);
    return *v;
}

template <typename T>
Json optional_json(const std::optional<T>& v) {
    return v ? Json(*v) : Json(nullptr);
}

inline Json text_or_null(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

// Field access that names the field at fault instead of passing nlohmann's message on.
inline const Json& field(const Json& j, const char* key) {
    if (!j.is_object() || !j.contains(key)) throw RecordFormatError(std::string("field '") + key + "' is missing");
    return j[key];
}

// The lists records hold (std::vector, std::array) and their element type.
template <typename T>
struct ListOf {
    static constexpr bool list = false;
};
template <typename E, typename A>
struct ListOf<std::vector<E, A>> {
    static constexpr bool list = true;
    static constexpr std::size_t size = 0;  // any
    using Element = E;
};
template <typename E, std::size_t N>
struct ListOf<std::array<E, N>> {
    static constexpr bool list = true;
    static constexpr std::size_t size = N;  // exactly N: nlohmann would drop the rest
    using Element = E;
};

// nlohmann converts between number kinds silently (-1 becomes a huge size_t, 2^40 a
// wrapped int, 1e300 an undefined one): scalars, and each element of a list, are checked
// first. An integer field takes a whole number its type holds.
template <typename T>
bool has_type(const Json& v) {
    if constexpr (std::is_same_v<T, bool>) {
        return v.is_boolean();
    } else if constexpr (std::is_integral_v<T>) {
        constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<T>::max());
        if (v.is_number_unsigned()) return v.get<std::uint64_t>() <= max;
        if (!v.is_number_integer()) return false;
        const auto n = v.get<std::int64_t>();
        if (n >= 0) return static_cast<std::uint64_t>(n) <= max;
        return std::is_signed_v<T> && n >= static_cast<std::int64_t>(std::numeric_limits<T>::min());
    } else if constexpr (std::is_floating_point_v<T>) {
        return v.is_number();
    } else if constexpr (std::is_same_v<T, std::string>) {
        return v.is_string();
    } else if constexpr (ListOf<T>::list) {
        return v.is_array() && (ListOf<T>::size == 0 || v.size() == ListOf<T>::size) &&
               std::all_of(v.begin(), v.end(), [](const Json& e) { return has_type<typename ListOf<T>::Element>(e); });
    } else {
        static_assert(ListOf<T>::list, "has_type: a type records do not hold");
        return false;
    }
}

template <typename T>
T get(const Json& j, const char* key) {
    const Json& v = field(j, key);
    if (!has_type<T>(v)) throw RecordFormatError(std::string("field '") + key + "' has the wrong type");
    try {
        return v.get<T>();
    } catch (const Json::exception&) {
        throw RecordFormatError(std::string("field '") + key + "' has the wrong type");
    }
}

template <typename T>
std::optional<T> get_optional(const Json& j, const char* key) {
    if (!j.is_object() || !j.contains(key) || j[key].is_null()) return std::nullopt;
    return get<T>(j, key);
}

inline std::string text_or_empty(const Json& j, const char* key) {
    return get_optional<std::string>(j, key).value_or("");
}

inline const Json& array_field(const Json& j, const char* key) {
    const Json& v = field(j, key);
    if (!v.is_array()) throw RecordFormatError(std::string("field '") + key + "' is not a list");
    return v;
}

inline std::vector<InputFailure> errors_from_json(const Json& list) {
    std::vector<InputFailure> out;
    for (const Json& e : list) out.push_back({get<std::string>(e, "path"), get<std::string>(e, "message")});
    return out;
}

inline VoxelType voxel_type_of(const std::string& name) {
    for (VoxelType t : k_voxel_types)
        if (name == voxel_type_name(t)) return t;
    throw RecordFormatError("field 'dtype' has an unknown value '" + name + "'");
}

template <typename T>
T named(const std::string& text, std::initializer_list<T> values, const char* (*name_of)(T), const char* key) {
    for (T v : values)
        if (text == name_of(v)) return v;
    throw RecordFormatError(std::string("field '") + key + "' has an unknown value '" + text + "'");
}

}  // namespace lessmore::record_json
