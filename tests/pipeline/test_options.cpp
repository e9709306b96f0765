// The option model (include/lessmore/options.hpp): the table every front end declares its
// options from, the values -> config step, and the option text parsers, all naming the
// option at fault.
#include "test_support.hpp"

#include <lessmore/error.hpp>
#include <lessmore/options.hpp>

#include <set>

namespace lessmore {
namespace {

template <typename F>
void expect_usage_error(F&& f, const std::string& option, const std::string& text) {
    try {
        f();
        ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find(option), std::string::npos) << e.what();
    }
}

TEST(OptionParsers, Shard) {
    EXPECT_EQ(parse_shard("3/10"), std::make_pair(3, 10));
    EXPECT_EQ(parse_shard("1/1"), std::make_pair(1, 1));
    for (const char* bad : {"0/3", "4/3", "3", "/3", "3/", "a/b", "1/3x", "1.5/3", "-1/3", "1/200000", ""}) {
        expect_usage_error([&] { parse_shard(bad); }, "--shard", bad);
    }
}

TEST(OptionParsers, Memory) {
    EXPECT_EQ(parse_memory("1024"), 1024u);
    EXPECT_EQ(parse_memory("500M"), 500ull << 20);
    EXPECT_EQ(parse_memory("8G"), 8ull << 30);
    EXPECT_EQ(parse_memory("8gib"), 8ull << 30);
    EXPECT_EQ(parse_memory("1.5G"), 3ull << 29);
    EXPECT_EQ(parse_memory("2TB"), 2ull << 40);
    for (const char* bad : {"", "G", "-1G", "0", "8X", "1e30T", "nan", "8 G"}) {
        expect_usage_error([&] { parse_memory(bad); }, "--max-memory", bad);
    }
}

TEST(OptionParsers, Range) {
    EXPECT_EQ(parse_range("0:100"), std::make_pair(std::optional<std::size_t>(0), std::optional<std::size_t>(100)));
    EXPECT_EQ(parse_range(":5").first, std::nullopt);
    EXPECT_EQ(parse_range(":5").second, 5u);
    EXPECT_EQ(parse_range("7:").first, 7u);
    EXPECT_EQ(parse_range("7:").second, std::nullopt);
    for (const char* bad : {"5", "a:b", "-1:5", "1:+5", "1.5:3", "1:2:3"}) {
        expect_usage_error([&] { parse_range(bad); }, "--range", bad);
    }
}

TEST(OptionParsers, Thresholds) {
    EXPECT_EQ(parse_thresholds("6,8,10"), (std::vector<double>{6, 8, 10}));
    EXPECT_EQ(parse_thresholds("0:3:1"), (std::vector<double>{0, 1, 2, 3}));
    // Steps that do not add up exactly in binary still give the decimal values.
    EXPECT_EQ(parse_thresholds("0.9:0.93:0.01"), (std::vector<double>{0.9, 0.91, 0.92, 0.93}));
    EXPECT_EQ(parse_thresholds("0.5"), (std::vector<double>{0.5}));
    for (const char* bad : {"", "a", "1,,2", "5:1:1", "0:1:0", "0:1", "0:1:2:3", "0:100000:1", "nan", "1,inf"}) {
        expect_usage_error([&] { parse_thresholds(bad); }, "--thresholds", bad);
    }
}

TEST(OptionParsers, Intensity) {
    EXPECT_EQ(parse_intensity("minmax").kind, IntensityMapping::Kind::MinMax);
    EXPECT_EQ(parse_intensity("none").kind, IntensityMapping::Kind::None);
    const IntensityMapping w = parse_intensity("window:-600,1500");
    EXPECT_EQ(w.kind, IntensityMapping::Kind::Window);
    EXPECT_EQ(w.center, -600.0);
    EXPECT_EQ(w.width, 1500.0);
    for (const char* bad : {"window:40", "window:a,b", "window:40,0", "window:40,-5", "minmix", "window:1,2,3", ""}) {
        expect_usage_error([&] { parse_intensity(bad); }, "--intensity", bad);
    }
    try {
        parse_intensity("window:40,-5");
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("width must be positive"), std::string::npos) << e.what();
    }
}

TEST(OptionModel, EveryCommandsKeysAreUniqueAndDocumented) {
    std::set<std::string> commands;
    for (const CommandSpec& c : command_specs()) {
        EXPECT_TRUE(commands.insert(c.name).second) << c.name;
        EXPECT_FALSE(c.summary.empty()) << c.name;
        std::set<std::string> keys, names;
        for (const OptionSpec& o : c.options) {
            EXPECT_TRUE(keys.insert(o.key).second) << c.name << ": key " << o.key << " twice";
            EXPECT_TRUE(names.insert(o.display_name()).second) << c.name << ": " << o.display_name() << " twice";
            EXPECT_FALSE(o.help.empty()) << c.name << " " << o.names;
            // Python keywords: identifiers.
            for (char ch : o.key) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_') << o.key;
            if (o.type == ValueType::Choice) {
                EXPECT_FALSE(o.choices.empty()) << o.names;
                if (!o.default_text.empty()) {
                    EXPECT_NE(std::find(o.choices.begin(), o.choices.end(), o.default_text), o.choices.end())
                        << o.names;
                }
            }
        }
    }
    EXPECT_EQ(commands,
              (std::set<std::string>{"reduce", "info", "score", "merge", "sweep", "report", "compare", "split"}));
    EXPECT_THROW(command_spec("frobnicate"), UsageError);
}

TEST(OptionModel, NothingGivenGivesTheConfigsOwnDefaults) {
    OptionValues v(command_spec("reduce"));
    v.set("inputs", {"in"});
    v.set("output", {"out"});
    const ReduceConfig c = reduce_config(v);
    const ReduceConfig d;
    EXPECT_EQ(c.inputs, std::vector<std::string>{"in"});
    EXPECT_EQ(c.output, "out");
    EXPECT_EQ(c.metric.method, d.metric.method);
    EXPECT_EQ(c.metric.hash_size, d.metric.hash_size);
    EXPECT_EQ(c.metric.bins, d.metric.bins);
    EXPECT_FALSE(c.threshold || c.fraction || c.every || c.neighbours || c.scope_threshold || c.shard);
    EXPECT_EQ(c.strategy, d.strategy);
    EXPECT_EQ(c.scope, d.scope);
    EXPECT_EQ(c.format, d.format);
    EXPECT_EQ(c.patient_depth, d.patient_depth);
    EXPECT_EQ(c.duplicate_fraction, d.duplicate_fraction);
    EXPECT_EQ(c.intensity.to_string(), d.intensity.to_string());
    EXPECT_EQ(c.max_memory, d.max_memory);
    EXPECT_FALSE(c.flat || c.force || c.resume || c.include_localizers);
    // --help shows those defaults, from the same structs.
    EXPECT_EQ(command_spec("reduce").find("duplicate_fraction")->default_text, "0.9");
    EXPECT_EQ(command_spec("reduce").find("hash_size")->default_text, "8");
    EXPECT_EQ(command_spec("report").find("thumbnail")->default_text, std::to_string(ReportConfig{}.thumbnail));
}

TEST(OptionModel, ValuesBecomeTheConfig) {
    OptionValues v(command_spec("reduce"));
    v.set("inputs", {"a", "b"});
    v.set("output", {"out"});
    v.set("method", {"deepnet"});
    v.set("threshold", {"0.95"});
    v.set("strategy", {"pairs"});
    v.set("scope", {"patient"});
    v.set("format", {"both"});
    v.set("shard", {"2/5"});
    v.set("max_memory", {"1G"});
    v.set("intensity", {"window:40,400"});
    v.set("mean", {"0.5", "0.4", "0.3"});
    v.set("input_size", {"112"});
    v.set_flag("pool");
    v.set_flag("flat");
    const ReduceConfig c = reduce_config(v);
    EXPECT_EQ(c.inputs.size(), 2u);
    EXPECT_EQ(*c.threshold, 0.95);
    EXPECT_EQ(c.strategy, Strategy::Pairs);
    EXPECT_EQ(c.scope, Scope::Patient);
    EXPECT_EQ(c.format, OutputFormat::Both);
    EXPECT_EQ(*c.shard, std::make_pair(2, 5));
    EXPECT_EQ(c.max_memory, 1073741824u);
    EXPECT_EQ(c.intensity.to_string(), "window:40,400");
    EXPECT_EQ(*c.metric.model.mean, (std::vector<double>{0.5, 0.4, 0.3}));
    EXPECT_EQ(*c.metric.model.input_size, std::make_pair(112, 112));
    EXPECT_TRUE(*c.metric.model.pool);
    EXPECT_TRUE(c.flat);
}

TEST(OptionModel, SplitValuesBecomeTheConfig) {
    OptionValues v(command_spec("split"));
    v.set("run", {"out"});
    v.set("output", {"s.json"});
    v.set("fractions", {"0.8", "0.1", "0.1"});
    SplitConfig c = split_config(v);
    const SplitConfig d;
    EXPECT_EQ(c.run, "out");
    EXPECT_EQ(c.output, "s.json");
    EXPECT_EQ(c.fractions, (std::vector<double>{0.8, 0.1, 0.1}));
    EXPECT_EQ(c.by, d.by);
    EXPECT_EQ(c.seed, d.seed);
    EXPECT_FALSE(c.threshold || c.floor || c.no_floor || c.force);
    EXPECT_EQ(command_spec("split").find("by")->default_text, "patient");
    v.set("by", {"series"});
    v.set("seed", {"18446744073709"});
    v.set("threshold", {"4"});
    v.set("floor", {"none"});
    v.set_flag("force");
    c = split_config(v);
    EXPECT_EQ(c.by, SplitUnit::Series);
    EXPECT_EQ(c.seed, 18446744073709u);
    EXPECT_EQ(*c.threshold, 4.0);
    EXPECT_TRUE(c.no_floor && c.force);
    v.set("floor", {"2"});
    c = split_config(v);
    EXPECT_FALSE(c.no_floor);
    EXPECT_EQ(*c.floor, 2.0);
}

TEST(OptionModel, BadValuesNameTheOption) {
    auto reduce_with = [](const std::string& key, std::vector<std::string> texts) {
        OptionValues v(command_spec("reduce"));
        v.set("inputs", {"in"});
        v.set("output", {"out"});
        v.set(key, std::move(texts));
        reduce_config(v);
    };
    expect_usage_error([&] { reduce_with("threshold", {"six"}); }, "--threshold", "six");
    expect_usage_error([&] { reduce_with("threshold", {"nan"}); }, "--threshold", "nan");
    expect_usage_error([&] { reduce_with("hash_size", {"8.5"}); }, "--hash-size", "8.5");
    expect_usage_error([&] { reduce_with("neighbours", {"-3"}); }, "--neighbours", "-3");
    expect_usage_error([&] { reduce_with("order", {"random"}); }, "--order", "random");
    expect_usage_error([&] { reduce_with("format", {"jpg"}); }, "--format", "jpg");
    expect_usage_error([&] { reduce_with("model", {"m.onnx"}); }, "--model", "m.onnx");  // not deepnet
    expect_usage_error([&] { reduce_with("mean", {"1", "2", "3", "4"}); }, "--mean", "4 values");
    expect_usage_error([&] { reduce_with("input_size", {"1.5"}); }, "--input-size", "1.5");
    auto split_with = [](const std::string& key, std::vector<std::string> texts) {
        OptionValues v(command_spec("split"));
        v.set("run", {"out"});
        v.set("output", {"s.json"});
        v.set("fractions", {"0.8", "0.2"});
        v.set(key, std::move(texts));
        split_config(v);
    };
    expect_usage_error([&] { split_with("fractions", {"0.8", "x"}); }, "--fractions", "'x'");
    expect_usage_error([&] { split_with("fractions", {"1"}); }, "--fractions", "1 values given");
    expect_usage_error([&] { split_with("fractions", {"0.1", "0.1", "0.1", "0.7"}); }, "--fractions", "4 values");
    expect_usage_error([&] { split_with("floor", {"low"}); }, "--floor", "low");
    expect_usage_error([&] { split_with("seed", {"-1"}); }, "--seed", "-1");
    expect_usage_error([&] { split_with("by", {"hospital"}); }, "--by", "hospital");
    OptionValues v(command_spec("info"));
    expect_usage_error([&] { v.set("threshold", {"6"}); }, "threshold", "info has no threshold");
    expect_usage_error([&] { v.set("json", {"yes"}); }, "--json", "a flag");
}

}  // namespace
}  // namespace lessmore
