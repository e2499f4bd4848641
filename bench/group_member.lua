-- Removes and re-adds one random existing member of the group in GROUP_FILE (one PATCH, two
-- set operations; the membership is the same afterwards). Members are every (users // SIZE)-th
-- seeded id, as groups_build.py built them.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local dir = os.getenv("SEED_DIR")
local ids = read_lines(dir .. "/ids")
local group = read_lines(os.getenv("GROUP_FILE"))[1]
local size = tonumber(os.getenv("SIZE"))
local stride = math.max(1, math.floor(#ids / size))
local headers = body_headers()
request = function()
  local id = ids[1 + stride * (math.random(size) - 1)]
  local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":['
    .. '{"op":"remove","path":"members[value eq \\"' .. id .. '\\"]"},'
    .. '{"op":"add","path":"members","value":[{"value":"' .. id .. '"}]}]}'
  return wrk.format("PATCH", wrk.path .. "/Groups/" .. group, headers, body)
end
