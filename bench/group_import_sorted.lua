-- group_import.lua's pages sorted by displayName, descending: seeded groups are named in the
-- order they were created, so every group of the page is a run of its own, whose members are
-- read by a statement of their own after the page (the worst case of the list's read-ahead).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
request = function()
  return wrk.format("GET", wrk.path .. "/Groups?sortBy=displayName&sortOrder=descending&count=100&startIndex="
    .. math.random(4, 900))
end
