// The batch encoding (see record_json.h).
#include "record_json.h"

#include <cstring>

#include "procinfo.h"

namespace netlog {

namespace {

const char* KindName(Kind k) {
  switch (k) {
    case Kind::Exec: return "exec";
    case Kind::Connect: return "connect";
    case Kind::Accept: return "accept";
    case Kind::Bind: return "bind";
    case Kind::Close: return "close";
  }
  return "?";
}

}  // namespace

std::string ErrnoName(int err) {
  if (err == 0) return "ok";
  const char* n = strerrorname_np(err);
  return n ? n : "E" + std::to_string(err);
}

namespace {

// A batch reaches JS as one JSON text, parsed there with JSON.parse: one
// N-API string instead of ~40 property sets per event (which cost ~50 us an
// event, more than everything else on the JS side together).
void JsonString(std::string& out, const std::string& s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20) {
      out += "\\u00";
      out += hex[ch >> 4];
      out += hex[ch & 15];
    } else {
      out += static_cast<char>(ch);  // invalid UTF-8 becomes U+FFFD in the JS string
    }
  }
  out += '"';
}

void JsonKey(std::string& out, const char* key) {
  out += '"';
  out += key;
  out += "\":";
}

void JsonInt(std::string& out, const char* key, int64_t v) {
  JsonKey(out, key);
  out += std::to_string(v);
  out += ',';
}

void JsonNullable(std::string& out, const char* key, int64_t v) {
  JsonKey(out, key);
  out += v < 0 ? "null" : std::to_string(v);
  out += ',';
}

void JsonStr(std::string& out, const char* key, const std::string& v) {
  JsonKey(out, key);
  JsonString(out, v);
  out += ',';
}

void JsonEndpoint(std::string& out, const char* key, const Endpoint& ep) {
  JsonKey(out, key);
  out += "{\"ip\":";
  JsonString(out, ep.ip);
  out += ",\"port\":";
  out += std::to_string(ep.port);
  out += "},";
}

}  // namespace

void CloseJson(std::string& out, char bracket) {
  if (!out.empty() && out.back() == ',') out.back() = bracket;
  else out += bracket;
}

std::string BatchToJson(const std::deque<Message>& batch) {
  std::string json = "[";
  for (const Message& m : batch) {
    MessageToJson(json, m);
    json += ',';
  }
  CloseJson(json, ']');
  return json;
}

namespace {

void EventToJson(std::string& out, const Event& ev) {
  out += '{';
  JsonStr(out, "type", "event");
  JsonInt(out, "token", ev.token);
  JsonStr(out, "kind", KindName(ev.kind));
  JsonInt(out, "realtimeUs", ev.realtime_us);
  JsonInt(out, "boottimeUs", ev.boottime_us);
  const Identity& id = ev.proc;
  JsonKey(out, "proc");
  out += '{';
  JsonInt(out, "pid", id.pid);
  JsonInt(out, "tid", id.tid);
  JsonInt(out, "ppid", id.ppid);
  JsonInt(out, "sid", id.sid);
  JsonInt(out, "pgid", id.pgid);
  std::string tty = TtyName(id.tty_nr);
  JsonKey(out, "tty");
  if (tty.empty()) out += "null";
  else JsonString(out, tty);
  out += ',';
  JsonInt(out, "uid", id.uid);
  JsonInt(out, "gid", id.gid);
  JsonInt(out, "euid", id.euid);
  JsonInt(out, "egid", id.egid);
  JsonNullable(out, "auid", id.auid);
  JsonNullable(out, "ses", id.ses);
  JsonStr(out, "exe", id.exe);
  JsonStr(out, "comm", id.comm);
  if (id.exe_ino != 0) JsonStr(out, "exe_id", std::to_string(id.exe_dev) + ":" + std::to_string(id.exe_ino));
  CloseJson(out, '}');
  out += ',';
  if (ev.kind == Kind::Exec) {
    JsonKey(out, "exec");
    out += '{';
    JsonStr(out, "file", ev.file);
    JsonStr(out, "path", ev.path);
    // As text: an inode number can exceed 2^53 (overlayfs xino).
    JsonStr(out, "fileId", std::to_string(ev.file_dev) + ":" + std::to_string(ev.file_ino));
    JsonKey(out, "argv");
    out += '[';
    for (const std::string& a : ev.argv) {
      JsonString(out, a);
      out += ',';
    }
    CloseJson(out, ']');
    out += ',';
    JsonStr(out, "cwd", ev.cwd);
    JsonKey(out, "argvTruncated");
    out += ev.argv_truncated ? "true" : "false";
    out += "},";
  } else {
    JsonKey(out, "net");
    out += '{';
    JsonStr(out, "proto", ev.tcp ? "tcp" : "udp");
    JsonStr(out, "family", ev.ipv6 ? "ipv6" : "ipv4");
    JsonEndpoint(out, "local", ev.local);
    if (ev.has_remote && ev.kind != Kind::Bind) JsonEndpoint(out, "remote", ev.remote);
    if (ev.kind == Kind::Close) {
      JsonKey(out, "accepted");
      out += ev.accepted ? "true," : "false,";
    }
    CloseJson(out, '}');
    out += ',';
  }
  if (ev.result_errno >= 0) JsonStr(out, "result", ErrnoName(ev.result_errno));
  if (!ev.outcome.empty()) JsonStr(out, "outcome", ev.outcome);
  if (ev.blocked) {
    out += "\"blocked\":true,";
    JsonStr(out, "via", ev.via);
  }
  CloseJson(out, '}');
}

}  // namespace

void MessageToJson(std::string& out, const Message& m) {
  switch (m.type) {
    case MsgType::Event:
      return EventToJson(out, m.event);
    case MsgType::Exit:
      out += "{\"type\":\"exit\",";
      JsonInt(out, "code", m.signaled ? 128 + m.status : m.status);
      JsonInt(out, "signal", m.signaled ? m.status : 0);
      if (!m.text.empty()) JsonStr(out, "error", m.text);
      return CloseJson(out, '}');
    case MsgType::Stopped:
      out += "{\"type\":\"stopped\",";
      JsonInt(out, "signal", m.status);
      return CloseJson(out, '}');
    case MsgType::Continued:
      out += "{\"type\":\"continued\"}";
      return;
    case MsgType::End:
      out += "{\"type\":\"end\"}";
      return;
    case MsgType::Warning:
      out += "{\"type\":\"warning\",";
      JsonStr(out, "text", m.text);
      return CloseJson(out, '}');
  }
}
}  // namespace netlog
