-- wrk script: GET a different narinfo on every request, cycling through the
-- URL paths listed one per line in the file given after `--`. Each thread
-- starts at its own offset, so the connections do not move in lockstep.
local paths = {}
local next_index = 1
local thread_count = 0

function setup(thread)
  thread:set("id", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  local file = assert(io.open(args[1], "r"), "cannot open the URL list")
  for line in file:lines() do
    if line ~= "" then
      paths[#paths + 1] = line
    end
  end
  file:close()
  assert(#paths > 0, "the URL list is empty")
  next_index = ((id or 0) * 7919) % #paths + 1
end

function request()
  local path = paths[next_index]
  next_index = next_index % #paths + 1
  return wrk.format("GET", path)
end
