// Unit geometry (include/lessmore/unit.hpp): --unit text, mm to slices, the grid of full
// units and the dropped partial ones, on hand-made cases.
#include "test_support.hpp"

#include <lessmore/error.hpp>
#include <lessmore/unit.hpp>

#include <string>

namespace lessmore {
namespace {

using Shape = std::array<int, 3>;

UnitBox box(Shape origin, Shape size) {
    UnitBox b;
    b.origin = origin;
    b.size = size;
    return b;
}

// The UsageError's message for `text`, or "" when it parses.
std::string refusal(const std::string& text) {
    try {
        parse_unit_spec(text);
    } catch (const UsageError& e) {
        return e.what();
    }
    return "";
}

TEST(UnitSpec, ParsesEveryForm) {
    EXPECT_EQ(parse_unit_spec("slice").kind, UnitSpec::Kind::Slice);
    const UnitSpec slab = parse_unit_spec("slab:16");
    EXPECT_EQ(slab.kind, UnitSpec::Kind::Slab);
    EXPECT_EQ(slab.size[0], 16);
    EXPECT_EQ(slab.stride[0], 16);  // S defaults to K
    EXPECT_EQ(slab.to_string(), "slab:16:16");
    const UnitSpec strided = parse_unit_spec("slab:16:4");
    EXPECT_EQ(strided.stride[0], 4);
    const UnitSpec mm = parse_unit_spec("slab:10mm");
    ASSERT_TRUE(mm.size_mm.has_value());
    EXPECT_EQ(*mm.size_mm, 10.0);
    ASSERT_TRUE(mm.stride_mm.has_value());  // defaults to the slab's thickness
    EXPECT_EQ(mm.to_string(), "slab:10mm:10mm");
    const UnitSpec mm_slices = parse_unit_spec("slab:2.5mm:3");
    EXPECT_EQ(*mm_slices.size_mm, 2.5);
    EXPECT_FALSE(mm_slices.stride_mm.has_value());
    EXPECT_EQ(mm_slices.stride[0], 3);
    const UnitSpec patch = parse_unit_spec("patch:8,64,32");
    EXPECT_EQ(patch.kind, UnitSpec::Kind::Patch);
    EXPECT_EQ(patch.size, (Shape{8, 64, 32}));
    EXPECT_EQ(patch.stride, (Shape{8, 64, 32}));
    const UnitSpec overlapping = parse_unit_spec("patch:8,64,32:4,32,16");
    EXPECT_EQ(overlapping.stride, (Shape{4, 32, 16}));
    EXPECT_EQ(overlapping.to_string(), "patch:8,64,32:4,32,16");
    EXPECT_EQ(parse_unit_spec(overlapping.to_string()).stride, overlapping.stride);  // round trip
}

TEST(UnitSpec, RefusesBadTextNamingTheOption) {
    for (const std::string text : {"",
                                   "slices",
                                   "Slice",
                                   "slab",
                                   "slab:",
                                   "slab:0",
                                   "slab:8:0",
                                   "slab:-8",
                                   "slab:+8",
                                   "slab: 8",
                                   "slab:8:",
                                   "slab:8:4:2",
                                   "slab:8.5",
                                   "slab:0mm",
                                   "slab:mm",
                                   "slab:1e3mm",
                                   "slab:10mm:0",
                                   "slab:10mm:0mm",
                                   "slab:99999999",
                                   "patch:8,8",
                                   "patch:8,8,8,8",
                                   "patch:8,0,8",
                                   "patch:8,8,8:0,8,8",
                                   "patch:8,8,8:",
                                   "patch:a,b,c",
                                   "patch:8,8,8:4,4",
                                   "cube:8"}) {
        const std::string why = refusal(text);
        EXPECT_NE(why, "") << "accepted \"" << text << "\"";
        EXPECT_EQ(why.rfind("--unit: ", 0), 0u) << why;
        EXPECT_NE(why.find("\"" + text + "\""), std::string::npos) << why;  // quotes the text
        EXPECT_EQ(why.find('\n'), std::string::npos);
    }
    EXPECT_NE(refusal("slab:8:0").find("stride must be at least 1"), std::string::npos) << refusal("slab:8:0");
    EXPECT_NE(refusal("patch:8,8,8:0,8,8").find("stride must be at least 1"), std::string::npos);
}

TEST(UnitSpec, MillimetresBecomeTheNearestSliceCountHalvesUp) {
    EXPECT_EQ(slices_for_mm(10.0, 0.625), 16);
    EXPECT_EQ(slices_for_mm(10.0, 0.67), 15);  // 14.93
    EXPECT_EQ(slices_for_mm(10.0, 4.0), 3);    // 2.5 rounds up
    EXPECT_EQ(slices_for_mm(9.0, 2.0), 5);     // 4.5 rounds up
    EXPECT_EQ(slices_for_mm(8.9, 2.0), 4);     // 4.45
    EXPECT_EQ(slices_for_mm(1.0, 5.0), 1);     // never 0
    EXPECT_THROW(slices_for_mm(10.0, 0.0), InputError);
    EXPECT_THROW(slices_for_mm(10.0, -1.0), InputError);
    EXPECT_THROW(slices_for_mm(10.0, std::nan("")), InputError);
    const UnitSpec r = resolve_unit_spec(parse_unit_spec("slab:10mm:5mm"), {600, 512, 400}, 0.67);
    EXPECT_EQ(r.size, (Shape{15, 512, 400}));
    EXPECT_EQ(r.stride, (Shape{7, 512, 400}));  // 7.46
    EXPECT_EQ(r.to_string(), "slab:10mm:5mm");  // the mm form is kept for the record
}

TEST(UnitGrid, SlabsKeepFullUnitsAndListThePartialOnes) {
    // 10 slices, slab:4 -> 0-3, 4-7 kept; 8-9 dropped.
    const UnitSpec s = resolve_unit_spec(parse_unit_spec("slab:4"), {10, 5, 6}, 1.0);
    const UnitGrid g = enumerate_units(s, {10, 5, 6});
    EXPECT_EQ(g.units, (std::vector<UnitBox>{box({0, 0, 0}, {4, 5, 6}), box({4, 0, 0}, {4, 5, 6})}));
    EXPECT_EQ(g.dropped, (std::vector<UnitBox>{box({8, 0, 0}, {2, 5, 6})}));
    EXPECT_EQ(count_units(s, {10, 5, 6}), (std::array<std::int64_t, 2>{2, 1}));
    // Overlapping: slab:4:3 over 10 -> origins 0, 3, 6 full; 9 partial.
    const UnitSpec o = resolve_unit_spec(parse_unit_spec("slab:4:3"), {10, 5, 6}, 1.0);
    const UnitGrid go = enumerate_units(o, {10, 5, 6});
    ASSERT_EQ(go.units.size(), 3u);
    EXPECT_EQ(go.units[2], box({6, 0, 0}, {4, 5, 6}));
    EXPECT_EQ(go.dropped, (std::vector<UnitBox>{box({9, 0, 0}, {1, 5, 6})}));
    // Overlapping by more than one stride: slab:4:1 over 6 -> 0,1,2 full; 3,4,5 partial.
    const UnitSpec one = resolve_unit_spec(parse_unit_spec("slab:4:1"), {6, 5, 6}, 1.0);
    const UnitGrid g1 = enumerate_units(one, {6, 5, 6});
    EXPECT_EQ(g1.units.size(), 3u);
    EXPECT_EQ(g1.dropped.size(), 3u);
    // A gap: slab:2:5 over 11 -> 0-1, 5-6, 10 partial; slices 2-4 and 7-9 in no unit.
    const UnitSpec gap = resolve_unit_spec(parse_unit_spec("slab:2:5"), {11, 5, 6}, 1.0);
    const UnitGrid gg = enumerate_units(gap, {11, 5, 6});
    EXPECT_EQ(gg.units, (std::vector<UnitBox>{box({0, 0, 0}, {2, 5, 6}), box({5, 0, 0}, {2, 5, 6})}));
    EXPECT_EQ(gg.dropped, (std::vector<UnitBox>{box({10, 0, 0}, {1, 5, 6})}));
    // An exact fit drops nothing.
    EXPECT_TRUE(enumerate_units(s, {8, 5, 6}).dropped.empty());
}

TEST(UnitGrid, VolumeSmallerThanTheUnitHasNoUnits) {
    const UnitSpec s = resolve_unit_spec(parse_unit_spec("slab:16"), {12, 5, 6}, 1.0);
    const UnitGrid g = enumerate_units(s, {12, 5, 6});
    EXPECT_TRUE(g.units.empty());
    EXPECT_EQ(g.dropped, (std::vector<UnitBox>{box({0, 0, 0}, {12, 5, 6})}));
    const UnitSpec p = parse_unit_spec("patch:4,8,8");
    EXPECT_TRUE(enumerate_units(p, {10, 6, 20}).units.empty());  // too few rows
    EXPECT_EQ(count_units(p, {10, 6, 20})[0], 0);
}

TEST(UnitGrid, SliceUnitIsEverySlice) {
    const UnitSpec s = resolve_unit_spec(parse_unit_spec("slice"), {3, 4, 5}, 1.0);
    const UnitGrid g = enumerate_units(s, {3, 4, 5});
    EXPECT_EQ(g.units,
              (std::vector<UnitBox>{box({0, 0, 0}, {1, 4, 5}), box({1, 0, 0}, {1, 4, 5}), box({2, 0, 0}, {1, 4, 5})}));
    EXPECT_TRUE(g.dropped.empty());
}

TEST(UnitGrid, PatchesAreZMajorAndPartialOnAnyAxisIsDropped) {
    // 5 x 6 x 7 with patch:2,3,4 -> z origins 0,2,4(partial); y 0,3; x 0,4(partial).
    const Shape shape{5, 6, 7};
    const UnitSpec p = parse_unit_spec("patch:2,3,4");
    const UnitGrid g = enumerate_units(p, shape);
    EXPECT_EQ(g.units, (std::vector<UnitBox>{box({0, 0, 0}, {2, 3, 4}), box({0, 3, 0}, {2, 3, 4}),
                                             box({2, 0, 0}, {2, 3, 4}), box({2, 3, 0}, {2, 3, 4})}));
    ASSERT_EQ(g.dropped.size(), 8u);  // 3 * 2 * 2 origins - 4 full
    EXPECT_EQ(g.dropped[0], box({0, 0, 4}, {2, 3, 3}));
    EXPECT_EQ(g.dropped.back(), box({4, 3, 4}, {1, 3, 3}));
    EXPECT_EQ(count_units(p, shape), (std::array<std::int64_t, 2>{4, 8}));
    // Every voxel of a full unit is inside the volume.
    for (const UnitBox& b : g.units)
        for (int a = 0; a < 3; ++a) EXPECT_LE(b.origin[a] + b.size[a], shape[a]);
    // Strided patches with overlap in-plane.
    const UnitGrid o = enumerate_units(parse_unit_spec("patch:2,4,4:2,2,2"), {2, 6, 6});
    EXPECT_EQ(o.units.size(), 4u);  // y, x origins 0 and 2 (4 is partial)
    EXPECT_EQ(o.dropped.size(), 5u);
}

TEST(UnitGrid, RefusesAnUnresolvedSpec) { EXPECT_THROW(enumerate_units(parse_unit_spec("slab:4"), {10, 5, 6}), Error); }

}  // namespace
}  // namespace lessmore
