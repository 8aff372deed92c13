#pragma once
#include <string>
#include <string_view>

// The exact client-visible strings of docs/contract.md §1 (tests compare them byte for byte).
namespace chat::protocol::text {

// Common to all commands.
inline constexpr std::string_view unknown_command = "*Maaf, command tidak benar";
inline constexpr std::string_view bad_parameter = "Parameter salah / tidak ada";
inline constexpr std::string_view no_session = "Session tidak ditemukan";
inline constexpr std::string_view line_too_long = "Request terlalu panjang";
inline constexpr std::string_view server_busy = "Server sibuk";

// auth / register
inline constexpr std::string_view user_missing = "User Tidak Ada";
inline constexpr std::string_view wrong_password = "Password Salah";
inline constexpr std::string_view too_many_attempts = "Terlalu banyak percobaan, coba lagi nanti";
inline constexpr std::string_view user_registered = "User registered";
inline constexpr std::string_view user_exists = "User sudah ada";

// groups
inline constexpr std::string_view group_added = "Add group successful";
inline constexpr std::string_view group_exists = "Group sudah ada";
inline constexpr std::string_view group_joined = "Join group successful";
inline constexpr std::string_view group_not_found = "Group tidak ditemukan";
inline constexpr std::string_view already_member = "User sudah dalam group";
inline constexpr std::string_view not_member = "User bukan anggota group";

// messaging
inline constexpr std::string_view message_sent = "Message sent";
inline constexpr std::string_view message_sent_group = "Message sent to group";
inline constexpr std::string_view user_not_found = "User tidak ditemukan";
inline constexpr std::string_view logged_out = "Logout successful";

// realms
inline constexpr std::string_view realm_added = "Realm added successfully";
inline constexpr std::string_view realm_exists = "Realm sudah ada";
inline constexpr std::string_view realm_not_found = "Realm tidak ditemukan";
inline constexpr std::string_view access_denied = "Akses ditolak";
inline constexpr std::string_view sent_to_realm_user = "Message sent to user in realm";
inline constexpr std::string_view sent_to_realm_group = "Message sent to group in realm";
inline constexpr std::string_view queued_for_realm = "Message queued for realm";
inline constexpr std::string_view realm_user_not_found = "Realm/User tidak ditemukan";
inline constexpr std::string_view realm_group_not_found = "Realm/Group tidak ditemukan";

// Ours (docs/contract.md is silent; documented in docs/protocol.md).
// A realm message longer than the destination realm takes (its limits.max_message_bytes):
// refused by the destination, or by the sender when the destination's hello said so.
inline constexpr std::string_view message_too_long = "Pesan terlalu panjang";
inline constexpr std::string_view store_failed = "Gagal menyimpan, coba lagi nanti";
inline constexpr std::string_view watching = "Watching";
inline constexpr std::string_view watch_stopped = "Watching stopped";
inline constexpr std::string_view outbox_full = "Antrian realm penuh, coba lagi nanti";
// A routed message whose origin signature does not verify at the destination (altered or
// forged on the way, or signed by another key than the one pinned for its origin).
inline constexpr std::string_view bad_signature = "Tanda tangan pesan tidak sah";
// Before closing a connection for a time limit (limits.unauthenticated_idle_ms /
// limits.partial_request_ms).
inline constexpr std::string_view idle_timeout = "Tidak aktif terlalu lama, koneksi ditutup";
inline constexpr std::string_view request_timeout = "Request tidak selesai, koneksi ditutup";

// The text of a bounce: "Pesan untuk TARGET tidak terkirim: ERROR" (ERROR: the destination's
// refusal; "ditolak" when it gave none).
inline std::string bounce_text(std::string_view target, std::string_view error) {
  std::string text = "Pesan untuk ";
  text.append(target).append(" tidak terkirim: ").append(error.empty() ? "ditolak" : error);
  return text;
}

}  // namespace chat::protocol::text
