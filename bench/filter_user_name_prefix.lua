-- `userName sw` with an existing userName less its last two characters (a handful of users
-- each): a prefix search such as an admin's lookup, and its filtered list's totalResults.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local names = read_lines(os.getenv("NAMES_FILE"))
request = function()
  local name = names[math.random(#names)]
  local prefix = name:sub(1, #name - 2)
  return wrk.format("GET", wrk.path .. "/Users?filter=userName%20sw%20%22" .. prefix .. "%22&count=10")
end
