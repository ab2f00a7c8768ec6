// Digest statistics (see include/sluice/digest_stats.h).
#include "sluice/digest_stats.h"

#include <algorithm>
#include <tuple>

#include "sluice/query_digest.h"

namespace sluice {
namespace {

size_t hash_key(int32_t hostgroup, std::string_view schema, std::string_view user, std::string_view client,
                uint64_t digest) {
  uint64_t h = digest ^ (static_cast<uint64_t>(static_cast<uint32_t>(hostgroup)) * 0x9E3779B185EBCA87ULL);
  h = xxh64(schema.data(), schema.size(), h);
  h = xxh64(user.data(), user.size(), h);
  h = xxh64(client.data(), client.size(), h);
  return static_cast<size_t>(h);
}

auto key_tuple(const DigestRow& r) {
  return std::tie(r.hostgroup, r.schemaname, r.username, r.client_address, r.digest);
}

}  // namespace

void DigestCounters::fold(const DigestCounters& r) {
  if (r.count_star == 0) return;
  if (count_star == 0) {
    first_seen = r.first_seen;
    last_seen = r.last_seen;
    min_time = r.min_time;
    max_time = r.max_time;
  } else {
    first_seen = std::min(first_seen, r.first_seen);
    last_seen = std::max(last_seen, r.last_seen);
    min_time = std::min(min_time, r.min_time);
    max_time = std::max(max_time, r.max_time);
  }
  count_star += r.count_star;
  sum_time += r.sum_time;
  sum_rows_affected += r.sum_rows_affected;
  sum_rows_sent += r.sum_rows_sent;
  if (digest_text.empty()) digest_text = r.digest_text;
}

size_t DigestStats::KeyHash::operator()(const DigestKeyView& k) const {
  return hash_key(k.hostgroup, k.schemaname, k.username, k.client_address, k.digest);
}

size_t DigestStats::KeyHash::operator()(const Key& k) const {
  return hash_key(k.hostgroup, k.schemaname, k.username, k.client_address, k.digest);
}

bool DigestStats::KeyEqual::operator()(const DigestKeyView& a, const Key& b) const {
  return a.digest == b.digest && a.hostgroup == b.hostgroup && a.schemaname == b.schemaname &&
         a.username == b.username && a.client_address == b.client_address;
}

bool DigestStats::KeyEqual::operator()(const Key& a, const Key& b) const {
  return a.digest == b.digest && a.hostgroup == b.hostgroup && a.schemaname == b.schemaname &&
         a.username == b.username && a.client_address == b.client_address;
}

void DigestCounters::add(const DigestSample& s) {
  if (count_star == 0) {
    first_seen = s.now_unix_s;
    last_seen = s.now_unix_s;
    min_time = s.time_us;
    max_time = s.time_us;
  } else {
    first_seen = std::min(first_seen, s.now_unix_s);
    last_seen = std::max(last_seen, s.now_unix_s);
    min_time = std::min(min_time, s.time_us);
    max_time = std::max(max_time, s.time_us);
  }
  ++count_star;
  sum_time += s.time_us;
  sum_rows_affected += s.rows_affected;
  sum_rows_sent += s.rows_sent;
}

DigestStats::DigestStats(size_t max_digests) : max_digests_(max_digests) {}

void DigestStats::record(const DigestKeyView& key, std::string_view digest_text, const DigestSample& sample) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) {
    if (map_.size() >= max_digests_) {
      overflow_.add(sample);
      return;
    }
    Key k{key.hostgroup, std::string(key.schemaname), std::string(key.username), std::string(key.client_address),
          key.digest};
    it = map_.emplace(std::move(k), Counters{}).first;
    it->second.digest_text.assign(digest_text);
  }
  it->second.add(sample);
}

DigestRow DigestStats::to_row(const Key& k, const Counters& c) {
  DigestRow r;
  static_cast<DigestCounters&>(r) = c;
  r.hostgroup = k.hostgroup;
  r.schemaname = k.schemaname;
  r.username = k.username;
  r.client_address = k.client_address;
  r.digest = k.digest;
  return r;
}

std::vector<DigestRow> DigestStats::snapshot(bool reset) {
  Map taken;
  Counters overflow;
  std::vector<DigestRow> rows;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (reset) {
      taken.swap(map_);  // rows are built after unlocking
      overflow = std::move(overflow_);
      overflow_ = Counters{};
    } else {
      rows.reserve(map_.size() + 1);
      for (const auto& [k, c] : map_) rows.push_back(to_row(k, c));
      overflow = overflow_;
    }
  }
  rows.reserve(taken.size() + 1);
  for (const auto& [k, c] : taken) rows.push_back(to_row(k, c));
  if (overflow.count_star > 0) {
    overflow.digest_text = kDigestOverflowText;
    rows.push_back(to_row(Key{-1, {}, {}, {}, 0}, overflow));
  }
  return rows;
}

size_t DigestStats::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return map_.size();
}

uint64_t DigestStats::overflowed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return overflow_.count_star;
}

std::vector<DigestRow> merge_digest_rows(std::vector<std::vector<DigestRow>> per_worker) {
  std::vector<DigestRow> all;
  size_t total = 0;
  for (const auto& w : per_worker) total += w.size();
  all.reserve(total);
  for (auto& w : per_worker)
    for (auto& r : w) all.push_back(std::move(r));
  std::sort(all.begin(), all.end(),
            [](const DigestRow& a, const DigestRow& b) { return key_tuple(a) < key_tuple(b); });
  std::vector<DigestRow> merged;
  for (auto& r : all) {
    if (!merged.empty() && key_tuple(merged.back()) == key_tuple(r)) {
      merged.back().fold(r);
    } else {
      merged.push_back(std::move(r));
    }
  }
  return merged;
}

}  // namespace sluice
