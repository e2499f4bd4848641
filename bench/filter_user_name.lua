dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local names = read_lines(os.getenv("NAMES_FILE"))
request = function()
  local name = names[math.random(#names)]
  return wrk.format("GET", wrk.path .. "/Users?filter=userName%20eq%20%22" .. name .. "%22&startIndex=1&count=100")
end
