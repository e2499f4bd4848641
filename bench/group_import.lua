-- Okta's "Import Groups": a page of 100 groups with their members (RFC 7644 §3.4.2; Okta
-- reads memberships from members[].value). Pages start past the seeded large groups (three at
-- most, created first), so a page holds the small groups a directory has most of.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
request = function()
  return wrk.format("GET", wrk.path .. "/Groups?count=100&startIndex=" .. math.random(4, 900))
end
