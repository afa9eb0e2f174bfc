-- trustone_emv.lua: EMV proprietary-class command APDUs (CLA 8x) for Wireshark 4.x.
-- Wireshark's ISO 7816 dissector stops after the class byte for CLA 80-FE; this
-- post-dissector decodes INS, P1, P2, Lc, data and Le of those commands (short and
-- extended length, ISO/IEC 7816-4 section 5.1) and names the EMV command.
local emv = Proto("trustone_emv", "EMV proprietary command APDU")
local f = {
  cla = ProtoField.uint8("trustone_emv.cla", "Class", base.HEX),
  ins = ProtoField.uint8("trustone_emv.ins", "Instruction", base.HEX),
  p1 = ProtoField.uint8("trustone_emv.p1", "Parameter 1", base.HEX),
  p2 = ProtoField.uint8("trustone_emv.p2", "Parameter 2", base.HEX),
  lc = ProtoField.uint16("trustone_emv.lc", "Length Lc", base.DEC),
  data = ProtoField.bytes("trustone_emv.data", "Command data"),
  le = ProtoField.uint32("trustone_emv.le", "Expected length Le", base.DEC),
  command = ProtoField.string("trustone_emv.command", "EMV command"),
}
emv.fields = { f.cla, f.ins, f.p1, f.p2, f.lc, f.data, f.le, f.command }
local names = {
  [0xA8] = "GET PROCESSING OPTIONS", [0xAE] = "GENERATE AC", [0xEA] = "EXCHANGE RELAY RESISTANCE DATA",
  [0x2A] = "COMPUTE CRYPTOGRAPHIC CHECKSUM", [0xCA] = "GET DATA", [0x1E] = "APPLICATION BLOCK",
  [0x18] = "APPLICATION UNBLOCK", [0x16] = "CARD BLOCK", [0x24] = "PIN CHANGE/UNBLOCK", [0xDA] = "PUT DATA",
}
local cryptograms = { [0x00] = "AAC", [0x40] = "TC", [0x80] = "ARQC", [0xC0] = "RFU" }
local cla_field = Field.new("iso7816.apdu.cla")
local apdu_field = Field.new("exported_pdu.exported_pdu")

function emv.dissector(_, pinfo, tree)
  local cla, apdu = cla_field(), apdu_field()
  if cla == nil or apdu == nil or cla.value < 0x80 or cla.value == 0xFF or apdu.range:len() < 4 then return end
  local r = apdu.range
  local ins, p1 = r(1, 1):uint(), r(2, 1):uint()
  local name = names[ins] or string.format("INS %02X", ins)
  if ins == 0xAE then
    local cda = math.floor(p1 / 16) % 2 == 1  -- arithmetic: Lua 5.2 (Wireshark 4.0) has no bit operators
    name = string.format("GENERATE AC (%s%s)", cryptograms[p1 - p1 % 64], cda and ", CDA" or "")
  end
  local t = tree:add(emv, r)
  t:add(f.command, name):set_generated()
  t:add(f.cla, r(0, 1)); t:add(f.ins, r(1, 1)); t:add(f.p1, r(2, 1)); t:add(f.p2, r(3, 1))
  local n, body = r:len() - 4, 4
  local function le(range, max)  -- Le = 0 means the maximum (ISO/IEC 7816-4 section 5.1)
    local v = range:uint()
    t:add(f.le, range, v == 0 and max or v)
  end
  if n == 1 then
    le(r(4, 1), 256)
  elseif n > 1 then
    local lc_size, lc = 1, r(4, 1):uint()
    if lc == 0 and n >= 3 then lc_size, lc = 3, r(5, 2):uint() end
    if lc_size == 3 and n == 3 then
      le(r(5, 2), 65536)
    elseif n >= lc_size + lc then
      t:add(f.lc, r(4, lc_size), lc)
      if lc > 0 then t:add(f.data, r(body + lc_size, lc)) end
      local rest = n - lc_size - lc
      if rest > 0 then le(r(body + lc_size + lc, rest), rest == 1 and 256 or 65536) end
    end
  end
  pinfo.cols.info:set(name)
end

register_postdissector(emv)
