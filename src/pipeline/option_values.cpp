// Option values as text -> typed values -> the commands' configs
// (include/lessmore/options.hpp). The only place lessmore parses what users type, whether
// on the command line or as Python keywords; every error names the option and the text.
#include <lessmore/options.hpp>
#include <lessmore/unit.hpp>

#include <lessmore/error.hpp>

#include <cctype>
#include <cmath>
#include <sstream>

namespace lessmore {
namespace {

// The number at the start of `text` (as std::stod reads it) and how many characters it
// took (0: none).
std::pair<double, std::size_t> leading_number(const std::string& text) {
    std::size_t used = 0;
    try {
        const double v = std::stod(text, &used);
        return {v, used};
    } catch (const std::logic_error&) {  // invalid_argument, out_of_range
        return {0.0, 0};
    }
}

// `text` as one finite number and nothing else (no leading space).
std::optional<double> finite_number(const std::string& text) {
    if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return std::nullopt;
    const auto [v, used] = leading_number(text);
    if (used == 0 || used != text.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

std::optional<std::size_t> parse_index(const std::string& text, const std::string& whole) {
    if (text.empty()) return std::nullopt;
    std::size_t used = 0;
    unsigned long long v = 0;
    try {
        v = std::stoull(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || text[0] == '-' || text[0] == '+' || std::isspace(static_cast<unsigned char>(text[0]))) {
        throw UsageError("--range: '" + whole + "' is not A:B with slice indices (e.g. 0:100)");
    }
    return static_cast<std::size_t>(v);
}

SliceOrder order_of(const OptionValues& v) {
    return v.choice("order").value_or("position") == "name" ? SliceOrder::Name : SliceOrder::Position;
}

int int_or(const OptionValues& v, const std::string& key, int fallback) {
    const auto i = v.integer(key);
    if (!i) return fallback;
    if (*i < -2147483647LL || *i > 2147483647LL) {
        throw UsageError(v.command().find(key)->display_name() + ": " + std::to_string(*i) + " is out of range");
    }
    return static_cast<int>(*i);
}

MetricOptions metric_of(const OptionValues& v) {
    MetricOptions m;
    m.method = v.text("method").value_or(m.method);
    m.hash_size = int_or(v, "hash_size", m.hash_size);
    m.bins = int_or(v, "bins", m.bins);
    m.resize = int_or(v, "resize", m.resize);
    if (!v.command().find("model")) return m;
    ModelOptions& model = m.model;
    model.path = v.text("model").value_or("");
    model.batch = int_or(v, "batch", model.batch);
    if (v.given("input_size")) {
        const auto size = v.numbers("input_size");
        const auto w = static_cast<int>(size[0]);
        model.input_size = std::make_pair(w, size.size() > 1 ? static_cast<int>(size[1]) : w);
    }
    if (v.given("mean")) model.mean = v.numbers("mean");
    if (v.given("std")) model.std = v.numbers("std");
    if (v.given("scale")) model.scale = v.number("scale");
    if (v.given("channel_order")) model.channel_order = v.text("channel_order");
    if (v.given("layout")) model.layout = v.text("layout");
    if (v.given("layer")) model.output = v.text("layer");
    if (v.given("pool")) model.pool = v.flag("pool");
    if (v.given("channels")) model.channels = int_or(v, "channels", 3);
    if (v.given("values")) model.values = v.choice("values");
    if (v.given("window")) {
        const auto w = v.numbers("window");
        model.window = std::make_pair(w.at(0), w.at(1));
    }
    model.features_dir = v.text("features").value_or("");
    if (!model.features_dir.empty() && !model.path.empty()) {
        throw UsageError("--features: the embeddings were computed elsewhere; --model cannot be given with it");
    }
    for (const char* key : {"model", "input_size", "mean", "std", "scale", "channel_order", "layout", "layer", "pool",
                            "channels", "values", "window", "features"}) {
        if (v.given(key) && m.method != "deepnet") {
            throw UsageError("--model and its preprocessing flags: only for --method deepnet");
        }
    }
    return m;
}

std::uint64_t memory_of(const OptionValues& v) {
    const auto text = v.text("max_memory");
    return text ? parse_memory(*text) : 0;
}

std::optional<std::size_t> neighbours_of(const OptionValues& v) {
    const auto k = v.integer("neighbours");
    if (!k) return std::nullopt;
    return static_cast<std::size_t>(*k);
}

}  // namespace

// --- OptionValues ---------------------------------------------------------------------

const OptionSpec& OptionValues::spec(const std::string& key) const {
    const OptionSpec* s = m_command->find(key);
    if (!s) throw UsageError(m_command->name + " has no option '" + key + "'");
    return *s;
}

void OptionValues::set(const std::string& key, std::vector<std::string> texts) {
    const OptionSpec& s = spec(key);
    if (s.type == ValueType::Flag || s.type == ValueType::Count) {
        throw UsageError(s.display_name() + " is a flag and takes no value");
    }
    const auto n = static_cast<int>(texts.size());
    if (n < s.min_values || (s.max_values >= 0 && n > s.max_values)) {
        const std::string want = s.max_values < 0 ? "at least " + std::to_string(s.min_values)
                                 : s.min_values == s.max_values
                                     ? std::to_string(s.min_values)
                                     : std::to_string(s.min_values) + " to " + std::to_string(s.max_values);
        throw UsageError(s.display_name() + ": " + std::to_string(n) + " values given, it takes " + want);
    }
    m_values[key] = std::move(texts);
}

void OptionValues::set_flag(const std::string& key, int count) {
    const OptionSpec& s = spec(key);
    if (s.type != ValueType::Flag && s.type != ValueType::Count) throw UsageError(s.display_name() + " takes a value");
    if (count > 0) m_counts[key] = count;
}

bool OptionValues::given(const std::string& key) const {
    spec(key);
    return m_values.count(key) > 0 || m_counts.count(key) > 0;
}

const std::vector<std::string>& OptionValues::texts(const std::string& key) const {
    static const std::vector<std::string> none;
    spec(key);
    const auto it = m_values.find(key);
    return it == m_values.end() ? none : it->second;
}

std::optional<std::string> OptionValues::text(const std::string& key) const {
    const auto& t = texts(key);
    if (t.empty()) return std::nullopt;
    return t.front();
}

int OptionValues::count(const std::string& key) const {
    spec(key);
    const auto it = m_counts.find(key);
    return it == m_counts.end() ? 0 : it->second;
}

std::optional<double> OptionValues::number(const std::string& key) const {
    const auto t = text(key);
    if (!t) return std::nullopt;
    const auto v = finite_number(*t);
    if (!v) throw UsageError(spec(key).display_name() + ": '" + *t + "' is not a number");
    return v;
}

std::vector<double> OptionValues::numbers(const std::string& key) const {
    std::vector<double> out;
    for (const std::string& t : texts(key)) {
        const auto v = finite_number(t);
        if (!v) throw UsageError(spec(key).display_name() + ": '" + t + "' is not a number");
        if (spec(key).type != ValueType::Float && std::floor(*v) != *v) {
            throw UsageError(spec(key).display_name() + ": '" + t + "' is not a whole number");
        }
        out.push_back(*v);
    }
    return out;
}

std::optional<long long> OptionValues::integer(const std::string& key) const {
    const auto t = text(key);
    if (!t) return std::nullopt;
    const OptionSpec& s = spec(key);
    std::size_t used = 0;
    long long v = 0;
    try {
        v = std::stoll(*t, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != t->size() || std::isspace(static_cast<unsigned char>((*t)[0]))) {
        throw UsageError(s.display_name() + ": '" + *t + "' is not a whole number");
    }
    if (s.type == ValueType::Uint && v < 0) throw UsageError(s.display_name() + ": '" + *t + "' is negative");
    return v;
}

std::optional<std::string> OptionValues::choice(const std::string& key) const {
    const auto t = text(key);
    if (!t) return std::nullopt;
    const OptionSpec& s = spec(key);
    for (const std::string& c : s.choices)
        if (c == *t) return t;
    std::string names;
    for (std::size_t k = 0; k < s.choices.size(); ++k) {
        names += (k == 0 ? "" : k + 1 == s.choices.size() ? " or " : ", ") + s.choices[k];
    }
    throw UsageError(s.display_name() + ": '" + *t + "' is not one of " + names);
}

// --- the commands' configs ----------------------------------------------------------------

ReduceConfig reduce_config(const OptionValues& v) {
    ReduceConfig c;
    c.inputs = v.texts("inputs");
    c.output = v.text("output").value_or("");
    c.metric = metric_of(v);
    c.threads = int_or(v, "threads", c.threads);
    c.threshold = v.number("threshold");
    c.fraction = v.number("fraction");
    if (v.given("every")) c.every = int_or(v, "every", 0);
    c.neighbours = neighbours_of(v);
    const std::string strategy = v.choice("strategy").value_or("auto");
    c.strategy = strategy == "leader" ? Strategy::Leader : strategy == "pairs" ? Strategy::Pairs : Strategy::Auto;
    const std::string scope = v.choice("scope").value_or("volume");
    c.scope = scope == "patient" ? Scope::Patient : scope == "dataset" ? Scope::Dataset : Scope::Volume;
    c.scope_threshold = v.number("scope_threshold");
    c.patient_depth = int_or(v, "patient_depth", c.patient_depth);
    c.duplicate_fraction = v.number("duplicate_fraction").value_or(c.duplicate_fraction);
    c.order = order_of(v);
    c.include_localizers = v.flag("include_localizers");
    if (const auto t = v.text("intensity")) c.intensity = parse_intensity(*t);
    if (const auto t = v.text("unit")) c.unit = parse_unit_spec(*t);
    // Units are written as NIfTI unless --format says otherwise (docs/output.md, section "Unit files").
    const bool slices = c.unit.kind == UnitSpec::Kind::Slice;
    const std::string format = v.choice("format").value_or(slices ? "png" : "nifti");
    c.format = format == "npy"     ? OutputFormat::Npy
               : format == "both"  ? OutputFormat::Both
               : format == "none"  ? OutputFormat::None
               : format == "nifti" ? OutputFormat::Nifti
                                   : OutputFormat::Png;
    if (const auto t = v.text("export_values")) c.export_values = parse_export_values(*t);
    c.flat = v.flag("flat");
    c.force = v.flag("force");
    c.resume = v.flag("resume");
    if (const auto t = v.text("shard")) c.shard = parse_shard(*t);
    c.max_memory = memory_of(v);
    c.save_features = v.text("save_features").value_or("");
    return c;
}

SweepConfig sweep_config(const OptionValues& v) {
    SweepConfig c;
    c.inputs = v.texts("inputs");
    c.metric = metric_of(v);
    c.threads = int_or(v, "threads", c.threads);
    c.order = order_of(v);
    c.include_localizers = v.flag("include_localizers");
    if (const auto t = v.text("intensity")) c.intensity = parse_intensity(*t);
    c.strategy = v.choice("strategy").value_or("leader") == "pairs" ? Strategy::Pairs : Strategy::Leader;
    c.neighbours = neighbours_of(v);
    if (const auto t = v.text("thresholds")) c.thresholds = parse_thresholds(*t);
    if (const auto t = v.text("unit")) c.unit = parse_unit_spec(*t);
    c.max_memory = memory_of(v);
    return c;
}

ScoreConfig score_config(const OptionValues& v) {
    ScoreConfig c;
    c.input = v.text("input").value_or("");
    c.output = v.text("output").value_or("");
    c.metric = metric_of(v);
    c.threads = int_or(v, "threads", c.threads);
    c.order = order_of(v);
    c.include_localizers = v.flag("include_localizers");
    if (const auto t = v.text("intensity")) c.intensity = parse_intensity(*t);
    if (const auto t = v.text("range")) std::tie(c.first, c.last) = parse_range(*t);
    if (const auto t = v.text("unit")) c.unit = parse_unit_spec(*t);
    c.volume = v.text("volume").value_or("");
    c.force = v.flag("force");
    return c;
}

InfoConfig info_config(const OptionValues& v) {
    InfoConfig c;
    c.inputs = v.texts("inputs");
    c.order = order_of(v);
    c.include_localizers = v.flag("include_localizers");
    c.threads = int_or(v, "threads", c.threads);
    return c;
}

ReportConfig report_config(const OptionValues& v) {
    ReportConfig c;
    c.output = v.text("output").value_or("");
    c.threads = int_or(v, "threads", c.threads);
    if (const auto k = v.integer("matrix_slices")) c.matrix_slices = static_cast<std::size_t>(*k);
    c.thumbnail = int_or(v, "thumbnail", c.thumbnail);
    return c;
}

MergeConfig merge_config(const OptionValues& v) {
    MergeConfig c;
    c.shards = v.texts("shards");
    c.output = v.text("output").value_or("");
    c.move = v.flag("move");
    c.force = v.flag("force");
    c.threads = int_or(v, "threads", c.threads);
    return c;
}

CompareConfig compare_config(const OptionValues& v) {
    CompareConfig c;
    c.a = v.text("a").value_or("");
    c.b = v.text("b").value_or("");
    c.max_changed = v.number("max_changed");
    return c;
}

SplitConfig split_config(const OptionValues& v) {
    SplitConfig c;
    c.run = v.text("run").value_or("");
    c.output = v.text("output").value_or("");
    c.fractions = v.numbers("fractions");
    const std::string by = v.choice("by").value_or("patient");
    c.by = by == "study"    ? SplitUnit::Study
           : by == "series" ? SplitUnit::Series
           : by == "volume" ? SplitUnit::Volume
                            : SplitUnit::Patient;
    if (const auto s = v.integer("seed")) c.seed = static_cast<std::uint64_t>(*s);
    c.threshold = v.number("threshold");
    if (const auto f = v.text("floor")) {
        if (*f == "none") {
            c.no_floor = true;
        } else if (const auto x = finite_number(*f)) {
            c.floor = *x;
        } else {
            throw UsageError("--floor: '" + *f + "' is not a threshold or none");
        }
    }
    c.force = v.flag("force");
    c.threads = int_or(v, "threads", c.threads);
    return c;
}

// --- option text ------------------------------------------------------------------------

std::pair<int, int> parse_shard(const std::string& text) {
    const auto slash = text.find('/');
    try {
        if (slash != std::string::npos) {
            std::size_t a = 0, b = 0;
            const int i = std::stoi(text.substr(0, slash), &a);
            const int n = std::stoi(text.substr(slash + 1), &b);
            if (a == slash && b == text.size() - slash - 1 && i >= 1 && n >= 1 && i <= n && n <= 100000) return {i, n};
        }
    } catch (const std::exception&) {}
    throw UsageError("--shard: '" + text + "' is not I/N with 1 <= I <= N (e.g. 3/10)");
}

std::uint64_t parse_memory(const std::string& text) {
    const auto [v, used] = leading_number(text);
    std::string unit = text.substr(used);
    for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!unit.empty() && unit.back() == 'B') unit.pop_back();
    if (unit.size() > 1 && unit.back() == 'I') unit.pop_back();  // "GiB"
    const double scale = unit.empty()  ? 1.0
                         : unit == "K" ? 1024.0
                         : unit == "M" ? 1048576.0
                         : unit == "G" ? 1073741824.0
                         : unit == "T" ? 1099511627776.0
                                       : -1.0;
    if (used == 0 || scale < 0 || !(v > 0) || !(v * scale < 1.8e19)) {
        throw UsageError("--max-memory: '" + text + "' is not a size (e.g. 4G, 500M)");
    }
    return static_cast<std::uint64_t>(v * scale);
}

std::pair<std::optional<std::size_t>, std::optional<std::size_t>> parse_range(const std::string& text) {
    const auto colon = text.find(':');
    if (colon == std::string::npos) throw UsageError("--range: '" + text + "' is not A:B (e.g. 0:100)");
    return {parse_index(text.substr(0, colon), text), parse_index(text.substr(colon + 1), text)};
}

std::vector<double> parse_thresholds(const std::string& text) {
    auto number = [&](const std::string& part) {
        const auto v = finite_number(part);
        if (!v) throw UsageError("--thresholds: '" + text + "' is not a list (0.9,0.95) or a range A:B:STEP (0:12:1)");
        return *v;
    };
    std::vector<double> out;
    if (text.find(':') != std::string::npos) {
        std::vector<double> parts;
        std::stringstream ss(text);
        for (std::string part; std::getline(ss, part, ':');) parts.push_back(number(part));
        if (parts.size() != 3 || !(parts[2] > 0) || parts[1] < parts[0]) {
            throw UsageError("--thresholds: '" + text + "' is not A:B:STEP with A <= B and STEP > 0");
        }
        if (std::floor((parts[1] - parts[0]) / parts[2] + 1e-9) > 10000) {
            throw UsageError("--thresholds: '" + text + "' gives more than 10000 thresholds");
        }
        out = threshold_range(parts[0], parts[1], parts[2]);
    } else {
        std::stringstream ss(text);
        for (std::string part; std::getline(ss, part, ',');) out.push_back(number(part));
    }
    if (out.empty()) throw UsageError("--thresholds: empty");
    return out;
}

IntensityMapping parse_intensity(const std::string& text) {
    if (const auto m = IntensityMapping::from_string(text)) return *m;
    if (text.rfind("window:", 0) == 0) {
        const std::string rest = text.substr(7);
        const auto comma = rest.find(',');
        const auto width = comma == std::string::npos ? std::nullopt : finite_number(rest.substr(comma + 1));
        if (comma != std::string::npos && finite_number(rest.substr(0, comma)) && width) {
            throw UsageError("--intensity: window width must be positive in '" + text + "'");
        }
        throw UsageError("--intensity: '" + text + "' is not window:CENTER,WIDTH (e.g. window:40,400)");
    }
    throw UsageError("--intensity: unknown mapping '" + text + "' (use minmax, window:C,W or none)");
}

ExportValues parse_export_values(const std::string& text) {
    if (const auto e = ExportValues::from_string(text)) return *e;
    if (text.rfind("window:", 0) == 0) {
        throw UsageError("--export-values: '" + text +
                         "' is not window:CENTER,WIDTH with WIDTH > 0 (e.g. window:40,400)");
    }
    throw UsageError("--export-values: unknown mode '" + text + "' (use intensity, minmax, window:C,W or hu)");
}

}  // namespace lessmore
