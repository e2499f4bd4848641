-- GET /Groups/{id} of a random small group (one member) from GROUPS_FILE.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local groups = read_lines(os.getenv("GROUPS_FILE"))
request = function()
  return wrk.format("GET", wrk.path .. "/Groups/" .. groups[math.random(#groups)])
end
