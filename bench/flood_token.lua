-- GETs presenting a made-up bearer token of the right form under a made-up tenant name a
-- tenant could have: each one is a credential check (argon2) unless something stops it.
local chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
local function random_text(n)
  local t = {}
  for i = 1, n do
    local k = math.random(1, #chars)
    t[i] = chars:sub(k, k)
  end
  return table.concat(t)
end
request = function()
  local name = "t" .. string.lower(random_text(10))
  local token = "scimd_" .. random_text(16) .. random_text(40)
  return wrk.format("GET", "/scim/v2/" .. name .. "/Users", { ["Authorization"] = "Bearer " .. token })
end
