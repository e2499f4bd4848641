-- The hello world with each request made by a Lua function, as every scimd scenario's is (a
-- random pick from the seeded ids, then wrk.format): wrk's own cost per request rises when it
-- calls into Lua for each one, so this row is the machine's limit for requests made that way.
-- The hello world answers only `/`, so the id picked is not sent.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local ids = read_lines(os.getenv("IDS_FILE"))
request = function()
  local _ = ids[math.random(#ids)]
  return wrk.format("GET", "/")
end
