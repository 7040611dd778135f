// The encoding of what native hands to TypeScript: one JSON text per batch
// (parsed there with JSON.parse: one N-API string instead of ~40 property
// sets per event). The TS side of this schema is src/native.ts NativeMessage.
#pragma once
#include <deque>
#include <string>

#include "event.h"

namespace netlog {

// errno → its name ("ECONNREFUSED"); 0 → "ok".
std::string ErrnoName(int err);
// Appends m as one JSON object.
void MessageToJson(std::string& out, const Message& m);
// Replaces the trailing comma of an object or array with its closing bracket.
void CloseJson(std::string& out, char bracket);
// A batch as handed to TypeScript: one JSON array of messages.
std::string BatchToJson(const std::deque<Message>& batch);

}  // namespace netlog
