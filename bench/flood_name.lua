-- Unauthenticated GETs under a made-up tenant name, a new one each time: NAME_PAD characters
-- (default 40, which keeps it a name a tenant could have) and a number.
local counter = 0
local pad = string.rep("a", tonumber(os.getenv("NAME_PAD") or "40"))
request = function()
  counter = counter + 1
  return wrk.format("GET", "/scim/v2/" .. pad .. counter .. "-" .. math.random(1, 1000000000) .. "/Users")
end
