-- HomeSense edge script (first HTTP filter of the gateway): CORS, X-Request-Id, identity hygiene.
-- The renderer (gateway/render.py) replaces the CORS_ORIGINS line with the configured allow-list.
-- Envoy's own cors filter is not used: it answers preflights with 200 and only when an Origin
-- header is present, while the contract pins 204 and Allow-Origin on every response.

local CORS_ORIGINS = { "*" }
local ALLOW_METHODS = "GET,POST,PATCH,DELETE,OPTIONS"
local ALLOW_HEADERS = "Authorization,Content-Type,Idempotency-Key,X-Request-Id"
local EXPOSE_HEADERS = "Location,X-Request-Id,Retry-After"
local MAX_AGE = "600"
local USER_HEADER = "x-homesense-user-id"

local function valid_request_id(value)
  return value ~= nil and #value >= 1 and #value <= 128 and value:find("^[A-Za-z0-9._-]+$") ~= nil
end

local seeded = false
local function new_request_id()
  -- Seeded lazily per worker; tostring({}) adds the table address so workers differ.
  if not seeded then
    local salt = tonumber(tostring({}):match("0x(%x+)") or "0", 16) or 0
    math.randomseed((os.time() + salt + math.floor(os.clock() * 1e6)) % 2147483647)
    seeded = true
  end
  local parts = {}
  for i = 1, 4 do
    parts[i] = string.format("%08x", math.random(0, 2147483646))
  end
  return table.concat(parts)
end

local function allow_origin(origin)
  for _, allowed in ipairs(CORS_ORIGINS) do
    if allowed == "*" then
      return "*", false
    end
    if allowed == origin then
      return origin, true
    end
  end
  -- A non-listed origin gets a listed one back, which the browser then refuses.
  return CORS_ORIGINS[1], true
end

local function set_cors(headers, origin, preflight)
  local value, vary = allow_origin(origin)
  headers:replace("access-control-allow-origin", value)
  if vary then
    headers:replace("vary", "Origin")
  end
  headers:replace("access-control-expose-headers", EXPOSE_HEADERS)
  if preflight then
    headers:replace("access-control-allow-methods", ALLOW_METHODS)
    headers:replace("access-control-allow-headers", ALLOW_HEADERS)
    headers:replace("access-control-max-age", MAX_AGE)
  end
end

function envoy_on_request(handle)
  local headers = handle:headers()
  -- Only jwt_authn (a later filter) may set the caller's identity, from the verified sub claim.
  headers:remove(USER_HEADER)

  -- An auth scheme is case-insensitive (RFC 9110 11.1) and stages 1 and 3 treat it so;
  -- jwt_authn matches its prefix exactly, so spell the scheme the one way it looks for.
  local authorization = headers:get("authorization")
  if authorization ~= nil then
    local scheme, rest = string.match(authorization, "^(%a+)( +.*)$")
    if scheme ~= nil and string.lower(scheme) == "bearer" and scheme ~= "Bearer" then
      headers:replace("authorization", "Bearer" .. rest)
    end
  end

  local request_id = headers:get("x-request-id")
  if not valid_request_id(request_id) then
    request_id = new_request_id()
    headers:replace("x-request-id", request_id)
  end
  local origin = headers:get("origin") or ""
  local meta = handle:streamInfo():dynamicMetadata()
  meta:set("homesense.edge", "request_id", request_id)
  meta:set("homesense.edge", "origin", origin)

  if headers:get(":method") == "OPTIONS" then
    -- A preflight never needs a token or an upstream: answer it here, on any path.
    local reply = { [":status"] = "204", ["x-request-id"] = request_id }
    local value, vary = allow_origin(origin)
    reply["access-control-allow-origin"] = value
    if vary then
      reply["vary"] = "Origin"
    end
    reply["access-control-expose-headers"] = EXPOSE_HEADERS
    reply["access-control-allow-methods"] = ALLOW_METHODS
    reply["access-control-allow-headers"] = ALLOW_HEADERS
    reply["access-control-max-age"] = MAX_AGE
    handle:respond(reply, "")
  end
end

function envoy_on_response(handle)
  -- Runs for upstream answers and for local replies of later filters (jwt_authn, rate limit, router).
  local meta = handle:streamInfo():dynamicMetadata():get("homesense.edge") or {}
  local headers = handle:headers()
  if meta.request_id ~= nil then
    headers:replace("x-request-id", meta.request_id)
  end
  set_cors(headers, meta.origin, false)
  -- No software names on answers (uvicorn's, if a service still sent one); Envoy adds none
  -- of its own (server_header_transformation: PASS_THROUGH).
  headers:remove("server")
end
