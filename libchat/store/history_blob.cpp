#include "store/history_blob.hpp"

#include "store/store.hpp"

namespace chat::store::history_blob {
namespace {

constexpr char format_1 = 1;
constexpr unsigned char bounce_flag = 1;

void put_number(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void put_bytes(std::string& out, std::string_view bytes) {
  put_number(out, bytes.size());
  out.append(bytes);
}

[[noreturn]] void damaged(const char* what) {
  throw StoreError(std::string("damaged history blob: ") + what);
}

}  // namespace

HistoryRecord RecordView::record() const {
  return {id,
          std::string(conversation),
          std::string(sender),
          std::string(sender_realm),
          std::string(recipient),
          std::string(group),
          std::string(text),
          std::string(time),
          bounce};
}

void start(std::string& out) {
  out.clear();
  out.push_back(format_1);
}

void append(std::string& out, Level level, const RecordView& record) {
  put_number(out, record.id);
  if (level == Level::recent) put_bytes(out, record.conversation);
  put_bytes(out, record.sender);
  put_bytes(out, record.sender_realm);
  put_bytes(out, record.recipient);
  put_bytes(out, record.group);
  put_bytes(out, record.text);
  put_bytes(out, record.time);
  out.push_back(static_cast<char>(record.bounce ? bounce_flag : 0));
}

void append(std::string& out, Level level, const HistoryRecord& r) {
  append(out, level,
         RecordView{r.id, r.conversation, r.sender, r.sender_realm, r.recipient, r.group, r.text,
                    r.time, r.bounce});
}

void append(std::string& out, const PackedRecord& record) {
  put_number(out, record.id);
  out.append(record.packed);
}

void append_recent(std::string& out, const PackedRecord& record) {
  put_number(out, record.id);
  put_bytes(out, record.conversation);
  out.append(record.packed);
}

Reader::Reader(std::string_view blob, Level level, std::string_view conversation)
    : blob_(blob), level_(level), conversation_(conversation) {
  if (blob_.empty() || blob_[0] != format_1) damaged("unknown format");
  at_ = 1;
}

bool Reader::next(RecordView& record) {
  if (at_ == blob_.size()) return false;
  record.id = number();
  record.conversation = level_ == Level::recent ? bytes() : conversation_;
  record.sender = bytes();
  record.sender_realm = bytes();
  record.recipient = bytes();
  record.group = bytes();
  record.text = bytes();
  record.time = bytes();
  record.bounce = flags();
  return true;
}

bool Reader::next(PackedRecord& record) {
  if (level_ != Level::recent) damaged("a chunk read as recent");
  if (at_ == blob_.size()) return false;
  record.id = number();
  record.conversation = bytes();
  const std::size_t start = at_;
  for (int field = 0; field < 5; ++field) bytes();  // sender, realm, recipient, group, text
  record.time = bytes();
  flags();
  record.packed = blob_.substr(start, at_ - start);
  return true;
}

bool Reader::flags() {
  if (at_ == blob_.size()) damaged("a record ends early");
  const auto flags = static_cast<unsigned char>(blob_[at_++]);
  if ((flags & ~bounce_flag) != 0) damaged("unknown flags");
  return (flags & bounce_flag) != 0;
}

std::uint64_t Reader::number() {
  std::uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (at_ == blob_.size()) damaged("a number ends early");
    const auto byte = static_cast<unsigned char>(blob_[at_++]);
    if (shift == 63 && byte > 1) damaged("a number over 64 bits");
    value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  damaged("a number over 64 bits");
}

std::string_view Reader::bytes() {
  const std::uint64_t size = number();
  if (size > blob_.size() - at_) damaged("a string runs past the end");
  const std::string_view view = blob_.substr(at_, size);
  at_ += size;
  return view;
}

}  // namespace chat::store::history_blob
