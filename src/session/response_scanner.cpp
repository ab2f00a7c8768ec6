// Response scanner (see response.h).
//
// Phases of a COM_QUERY response (backend without CLIENT_DEPRECATE_EOF, which
// libmysqlclient never negotiates):
//   kFirst --OK(more)--> kFirst      kFirst --OK/ERR--> done      kFirst --0xFB--> done(infile)
//   kFirst --column count n--> kColumns (n defs) --> kColumnsEof --EOF--> kRows
//   kRows --row--> kRows   kRows --EOF(more)--> kFirst   kRows --EOF/ERR--> done
#include "sluice/response.h"

#include <algorithm>

#include "sluice/protocol.h"

namespace sluice {
namespace {
// Enough for an EOF (5 bytes) or a column count (<= 9); fits std::string's inline buffer.
// ERR and OK packets are held whole instead.
constexpr size_t kHeadKeep = 15;
}

void ResponseScanner::begin(Kind kind, uint32_t backend_caps, uint32_t client_caps, bool forward,
                            bool backend_ext_metadata, bool backend_cache_metadata) {
  strip_ext_ = backend_ext_metadata;
  strip_meta_flag_ = backend_cache_metadata;
  deprecate_eof_ = (client_caps & proto::kDeprecateEof) != 0;
  seq_shift_ = 0;
  reject_results_ = false;
  rejected_ = false;
  kind_ = kind;
  switch (kind) {
    case Kind::kQuery:
    case Kind::kExecute: phase_ = Phase::kFirst; break;
    case Kind::kFieldList: phase_ = Phase::kFieldDefs; break;
    case Kind::kSingle: phase_ = Phase::kSingle; break;
    case Kind::kPrepare: phase_ = Phase::kPrepOk; break;
    case Kind::kFetch: phase_ = Phase::kRows; break;
  }
  capture_ = nullptr;
  inject_ = nullptr;
  prep_id_ = 0;
  backend_caps_ = backend_caps;
  client_caps_ = client_caps;
  forward_ = forward;
  done_ = false;
  protocol_error_ = false;
  forwarded_any_ = false;
  infile_ = false;
  infile_refused_ = false;
  hdr_have_ = 0;
  in_continuation_ = false;
  columns_left_ = 0;
  error_code_ = 0;
  has_status_ = false;
  error_message_.clear();
  last_insert_id_ = 0;
  rows_ = 0;
  affected_rows_ = 0;
  schema_.reset();
  variables_.clear();
  state_changed_ = false;
  warnings_ = 0;
  next_seq_ = 1;
}

void ResponseScanner::resume_after_infile() {
  kind_ = Kind::kQuery;
  phase_ = Phase::kFirst;
  done_ = false;
  infile_ = false;
  hdr_have_ = 0;
  if (infile_refused_) forward_ = false;  // the error the client gets comes from the session
}

bool ResponseScanner::is_eof() const {
  return logical_len_ < 9 && !head_.empty() && static_cast<unsigned char>(head_[0]) == 0xfe;
}

size_t ResponseScanner::feed(std::string_view in, std::string& out) {
  size_t used = 0;
  while (used < in.size() && !done_) {
    if (hdr_have_ < 4) {
      hdr_[hdr_have_++] = static_cast<unsigned char>(in[used++]);
      if (hdr_have_ < 4) continue;
      chunk_len_ = hdr_[0] | (hdr_[1] << 8) | (hdr_[2] << 16);
      chunk_left_ = chunk_len_;
      seq_ = hdr_[3];
      next_seq_ = static_cast<uint8_t>(seq_ + 1 - seq_shift_);
      started_ = false;
      if (!in_continuation_) {
        logical_len_ = 0;
        head_.clear();
      }
      logical_len_ += chunk_len_;
      if (chunk_len_ == 0) {
        start_packet(out);
        end_chunk(out);
      }
      continue;
    }
    if (!started_) {
      if (!in_continuation_) head_.push_back(in[used]);
      start_packet(out);
    }
    size_t n = std::min<size_t>(chunk_left_, in.size() - used);
    std::string_view part = in.substr(used, n);
    if (!in_continuation_ && head_.size() < kHeadKeep) {
      // The first byte was already recorded by the branch above.
      size_t skip = (chunk_left_ == chunk_len_) ? 1 : 0;
      size_t take = std::min(kHeadKeep - head_.size(), part.size() - std::min(part.size(), skip));
      head_.append(part.substr(skip, take));
    }
    if (hold_) held_.append(part);
    else if (forward_) out.append(part);
    used += n;
    chunk_left_ -= static_cast<uint32_t>(n);
    if (chunk_left_ == 0) end_chunk(out);
  }
  return used;
}

// Called once per chunk, when its first payload byte (or its empty body) is known.
void ResponseScanner::start_packet(std::string& out) {
  started_ = true;
  hold_ = false;
  if (!in_continuation_ && chunk_len_ < proto::kMaxChunk && !head_.empty()) {
    unsigned char b = static_cast<unsigned char>(head_[0]);
    bool first = phase_ == Phase::kFirst || phase_ == Phase::kSingle;
    bool defs = phase_ == Phase::kColumns || phase_ == Phase::kPrepParams || phase_ == Phase::kPrepColumns ||
                (phase_ == Phase::kFieldDefs && b != 0xfe);
    bool column = defs && (strip_ext_ || capture_ != nullptr);
    bool count = phase_ == Phase::kFirst && strip_meta_flag_ && b != 0x00 && b != 0xff && b != 0xfb;
    bool eof = deprecate_eof_ && b == 0xfe && chunk_len_ < 9 && phase_ != Phase::kFirst && phase_ != Phase::kSingle;
    bool infile = phase_ == Phase::kFirst && b == 0xfb;
    // OK: may need rewriting; ERR: may be a progress report; column and column count:
    // MariaDB-only metadata; EOF: becomes nothing or an OK for CLIENT_DEPRECATE_EOF;
    // LOCAL INFILE request: not for a client that did not allow it.
    if ((first && b == 0x00) || b == 0xff || column || count || eof || infile) {
      hold_ = true;
      held_.assign(reinterpret_cast<const char*>(hdr_), 4);
      return;
    }
    if (phase_ == Phase::kFirst && reject_results_ && b != 0x00 && b != 0xfb) {
      rejected_ = true;  // a result set this client cannot take: swallow the rest
      forward_ = false;
    }
  }
  if (forward_) {
    out.append(reinterpret_cast<const char*>(hdr_), 3);
    out.push_back(static_cast<char>(hdr_[3] - seq_shift_));
    forwarded_any_ = true;
  }
}

void ResponseScanner::end_chunk(std::string& out) {
  hdr_have_ = 0;
  if (chunk_len_ == proto::kMaxChunk) {
    in_continuation_ = true;  // the logical packet goes on in the next chunk
    return;
  }
  in_continuation_ = false;
  on_packet(out);
}

void ResponseScanner::on_packet(std::string& out) {
  unsigned char b = head_.empty() ? 0 : static_cast<unsigned char>(head_[0]);
  switch (phase_) {
    case Phase::kFirst:
      on_first_packet(out);
      return;
    case Phase::kColumns:
      if (hold_) on_column(out);
      if (--columns_left_ == 0) phase_ = Phase::kColumnsEof;
      return;
    case Phase::kColumnsEof: {
      if (!is_eof()) {
        protocol_error_ = done_ = true;
        return;
      }
      proto::Reader r(std::string_view(head_).substr(1));
      r.int2();
      uint16_t status = r.int2();
      bool cursor = kind_ == Kind::kExecute && (status & proto::kStatusCursorExists);
      if (cursor) {  // a cursor was opened: rows come with COM_STMT_FETCH
        status_ = status;
        has_status_ = true;
        done_ = true;
      } else {
        phase_ = Phase::kRows;
      }
      if (hold_) {
        hold_ = false;
        if (cursor && forward_) {  // CLIENT_DEPRECATE_EOF: the cursor's end is an OK with 0xFE
          proto::OkInfo ok;
          ok.status = status;
          std::string p = proto::ok_payload(ok, client_caps_);
          p[0] = static_cast<char>(0xfe);
          proto::append_packet(out, static_cast<uint8_t>(seq_ - seq_shift_), p);
        } else if (!cursor) {
          ++seq_shift_;  // CLIENT_DEPRECATE_EOF: no EOF between columns and rows
        }
      }
      return;
    }
    case Phase::kRows:
    case Phase::kFieldDefs:
      if (b == 0xff && logical_len_ < proto::kMaxChunk) {
        on_err(out);
      } else if (hold_ && !is_eof()) {
        on_column(out);
      } else if (!is_eof()) {
        ++rows_;
      } else {
        proto::Reader r(std::string_view(head_).substr(1));
        uint16_t warnings = r.int2();
        status_ = r.int2();
        has_status_ = true;
        warnings_ = warnings;
        if (hold_) {  // CLIENT_DEPRECATE_EOF: the terminator is an OK packet with a 0xFE head
          hold_ = false;
          if (forward_) {
            proto::OkInfo ok;
            ok.status = status_;
            ok.warnings = warnings;
            std::string p = proto::ok_payload(ok, client_caps_);
            p[0] = static_cast<char>(0xfe);
            proto::append_packet(out, static_cast<uint8_t>(seq_ - seq_shift_), p);
          }
        }
        if (phase_ == Phase::kRows && (status_ & proto::kStatusMoreResults)) phase_ = Phase::kFirst;
        else done_ = true;
      }
      return;
    case Phase::kPrepOk:
    case Phase::kPrepParams:
    case Phase::kPrepParamsEof:
    case Phase::kPrepColumns:
    case Phase::kPrepColumnsEof:
      on_prepare_packet(out);
      return;
    case Phase::kSingle:
      if (b == 0xff) {
        on_err(out);
        return;
      }
      if (hold_) on_ok(out);
      else if (is_eof()) {
        proto::Reader r(std::string_view(head_).substr(1));
        r.int2();
        status_ = r.int2();
        has_status_ = true;
      }
      done_ = true;
      return;
  }
}

void ResponseScanner::on_first_packet(std::string& out) {
  unsigned char b = head_.empty() ? 0 : static_cast<unsigned char>(head_[0]);
  if (b == 0xff) {
    on_err(out);
    return;
  }
  if (hold_ && b == 0x00) {
    on_ok(out);
    if (!(status_ & proto::kStatusMoreResults)) done_ = true;
    return;
  }
  if (b == 0xfb) {
    hold_ = false;
    infile_ = true;
    infile_refused_ = !(client_caps_ & proto::kLocalFiles);
    if (!infile_refused_) emit_held(out);
    done_ = true;
    return;
  }
  proto::Reader r(head_);
  columns_left_ = r.lenenc_int();
  if (!r.ok || columns_left_ == 0) {
    protocol_error_ = done_ = true;
    return;
  }
  phase_ = Phase::kColumns;
  bool metadata_follows = !strip_meta_flag_ || r.remaining() == 0 || r.int1() != 0;
  if (hold_) {
    // MariaDB's cache-metadata capability adds a "metadata follows" byte after the count.
    hold_ = false;
    if (reject_results_) {
      rejected_ = true;
      forward_ = false;
    }
    if (forward_) {
      std::string p;
      proto::put_lenenc_int(p, columns_left_);
      proto::append_packet(out, static_cast<uint8_t>(seq_ - seq_shift_), p);
      forwarded_any_ = true;
    }
  }
  if (!metadata_follows) send_injected_columns(out);
}

// The backend skipped column definitions it sent before for this statement; the client did
// not negotiate that, so the definitions captured at prepare time go in their place.
void ResponseScanner::send_injected_columns(std::string& out) {
  if (inject_ == nullptr || inject_->size() != columns_left_) {
    protocol_error_ = done_ = true;
    return;
  }
  uint8_t seq = static_cast<uint8_t>(seq_ - seq_shift_ + 1);
  if (forward_) {
    for (const std::string& col : *inject_) seq = proto::append_packet(out, seq, col);
  }
  // The server still sends the EOF that ends the (skipped) definitions; later backend
  // packets move up by the number of definitions added.
  seq_shift_ = static_cast<uint8_t>(seq_shift_ - inject_->size());
  phase_ = Phase::kColumnsEof;
}

// COM_STMT_PREPARE: the OK carries the statement id and the two counts; each section of
// definitions ends with an EOF, which CLIENT_DEPRECATE_EOF clients do not get.
void ResponseScanner::on_prepare_packet(std::string& out) {
  unsigned char b = head_.empty() ? 0 : static_cast<unsigned char>(head_[0]);
  switch (phase_) {
    case Phase::kPrepOk: {
      if (b == 0xff) {
        on_err(out);
        return;
      }
      proto::Reader r(head_);
      r.int1();
      prep_id_ = r.int4();
      columns_left_ = r.int2();
      params_left_ = r.int2();
      if (!r.ok || b != 0x00) {
        protocol_error_ = done_ = true;
        return;
      }
      phase_ = Phase::kPrepParamsEof;  // as if a (possibly empty) params section just ended
      if (params_left_ > 0) phase_ = Phase::kPrepParams;
      else after_prepare_section();
      return;
    }
    case Phase::kPrepParams:
      if (hold_) on_column(out);
      if (--params_left_ == 0) phase_ = Phase::kPrepParamsEof;
      return;
    case Phase::kPrepColumns:
      if (hold_) on_column(out);
      if (--columns_left_ == 0) phase_ = Phase::kPrepColumnsEof;
      return;
    default:  // the EOF that ends a section
      if (!is_eof()) {
        protocol_error_ = done_ = true;
        return;
      }
      if (hold_) {
        hold_ = false;
        ++seq_shift_;
      }
      after_prepare_section();
      return;
  }
}

void ResponseScanner::after_prepare_section() {
  if (phase_ == Phase::kPrepParamsEof && columns_left_ > 0) {
    phase_ = Phase::kPrepColumns;
  } else {
    has_status_ = false;
    done_ = true;
  }
}

void ResponseScanner::on_ok(std::string& out) {
  hold_ = false;
  std::string_view payload = std::string_view(held_).substr(4);
  auto ok = proto::parse_ok(payload, backend_caps_);
  if (!ok) {  // too short for an OK (e.g. a column count of 0): the stream is broken
    emit_held(out);
    protocol_error_ = done_ = true;
    return;
  }
  status_ = ok->ok.status;
  has_status_ = true;
  warnings_ = ok->ok.warnings;
  last_insert_id_ = ok->ok.last_insert_id;
  affected_rows_ += ok->ok.affected_rows;
  if (!ok->session_state.empty()) {
    proto::SessionChanges ch;
    proto::parse_session_changes(ok->session_state, ch);
    if (ch.schema) schema_ = std::string(*ch.schema);
    for (auto [name, value] : ch.variables) variables_.emplace_back(name, value);
    state_changed_ |= ch.state_changed;
  }
  bool rewrite = (backend_caps_ & proto::kSessionTrack) && !(client_caps_ & proto::kSessionTrack);
  if (!rewrite) {
    emit_held(out);
    return;
  }
  if (forward_) {
    proto::append_packet(out, static_cast<uint8_t>(seq_ - seq_shift_), proto::ok_payload(ok->ok, client_caps_));
    forwarded_any_ = true;
  }
}

void ResponseScanner::emit_held(std::string& out) {
  if (forward_) {
    held_[3] = static_cast<char>(held_[3] - seq_shift_);
    out.append(held_);
    forwarded_any_ = true;
  }
}

// An ERR ends the response, except a progress report (code 0xFFFF), which MariaDB sends
// during long statements to clients that announced progress support; clients of Sluice
// did not, so it is dropped.
void ResponseScanner::on_err(std::string& out) {
  hold_ = false;
  auto e = proto::parse_err(std::string_view(held_).substr(4));
  if (e && e->code == 0xffff) {
    ++seq_shift_;
    return;
  }
  error_code_ = e ? e->code : 1105;
  error_message_ = e ? std::string(e->message) : "unparsable error packet";
  error_state_ = e ? std::string(e->sqlstate) : "HY000";
  emit_held(out);
  done_ = true;
}

// Column definition: catalog, schema, table, org_table, name, org_name, then (with
// MariaDB's extended metadata) one length-prefixed block that MySQL clients do not expect.
void ResponseScanner::on_column(std::string& out) {
  hold_ = false;
  std::string_view payload = std::string_view(held_).substr(4);
  proto::Reader r(payload);
  for (int i = 0; i < 6; ++i) r.lenenc_str();
  size_t cut_from = r.pos;
  r.lenenc_str();
  if (!r.ok) {
    emit_held(out);
    return;
  }
  std::string fixed(payload.substr(0, cut_from));
  if (strip_ext_) fixed.append(payload.substr(r.pos));
  else fixed.assign(payload);
  if (capture_ != nullptr && (phase_ == Phase::kPrepColumns || phase_ == Phase::kColumns))
    capture_->push_back(fixed);
  if (forward_) {
    proto::append_packet(out, static_cast<uint8_t>(seq_ - seq_shift_), fixed);
    forwarded_any_ = true;
  }
}

}  // namespace sluice
