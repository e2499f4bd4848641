dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local ids = read_lines(os.getenv("IDS_FILE"))
request = function()
  return wrk.format("GET", wrk.path .. "/Users/" .. ids[math.random(#ids)])
end
