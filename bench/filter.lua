-- One filter scenario, picked by SCENARIO; values come from the files seed.py wrote.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local dir = os.getenv("SEED_DIR")
local scenario = os.getenv("SCENARIO")
local q = "%22"
local pools = {
  user_name = read_lines(dir .. "/names"),
  external_id = read_lines(dir .. "/external_ids"),
  email = read_lines(dir .. "/emails"),
  late = read_lines(dir .. "/late_modified"),
  ids = read_lines(dir .. "/ids"),
}
local function pick(t) return t[math.random(#t)] end
local total = #pools.ids
request = function()
  local p
  if scenario == "user_name" then
    p = "filter=userName%20eq%20" .. q .. pick(pools.user_name) .. q
  elseif scenario == "user_name_prefix" then
    local name = pick(pools.user_name)
    p = "filter=userName%20sw%20" .. q .. name:sub(1, #name - 2) .. q .. "&count=10"
  elseif scenario == "external_id" then
    p = "filter=externalId%20eq%20" .. q .. pick(pools.external_id) .. q
  elseif scenario == "email_value_path" then
    p = "filter=emails%5Btype%20eq%20%22work%22%20and%20value%20eq%20" .. q .. pick(pools.email) .. q .. "%5D"
  elseif scenario == "last_modified" then
    p = "filter=meta.lastModified%20gt%20" .. q .. pools.late[1] .. q
  elseif scenario == "sorted_page" then
    p = "sortBy=userName&count=100&startIndex=" .. math.random(1, total - 100)
  elseif scenario == "get_by_id" then
    return wrk.format("GET", wrk.path .. "/Users/" .. pick(pools.ids))
  end
  return wrk.format("GET", wrk.path .. "/Users?" .. p)
end
