#include "loader/tar.h"

#include <unistd.h>

#include <cstring>
#include <functional>
#include <map>

namespace lcl {

namespace {

constexpr uint64_t kBlock = 512;

using Reader = std::function<bool(uint64_t off, size_t n, uint8_t* dst)>;

bool parse_number(const uint8_t* f, size_t len, uint64_t& out) {
  if (len && (f[0] & 0x80)) {       // GNU base-256
    if (f[0] & 0x40) return false;  // negative: nonsense for a size
    uint64_t v = f[0] & 0x3f;
    for (size_t i = 1; i < len; ++i) {
      if (v >> 55) return false;
      v = (v << 8) | f[i];
    }
    out = v;
    return true;
  }
  size_t i = 0;
  while (i < len && f[i] == ' ') ++i;
  uint64_t v = 0;
  bool any = false;
  for (; i < len && f[i] != 0 && f[i] != ' '; ++i) {
    if (f[i] < '0' || f[i] > '7') return false;
    if (v >> 60) return false;
    v = v * 8 + (f[i] - '0');
    any = true;
  }
  for (; i < len; ++i)
    if (f[i] != 0 && f[i] != ' ') return false;
  out = any ? v : 0;
  return true;
}

bool checksum_ok(const uint8_t* h) {
  uint64_t stored;
  if (!parse_number(h + 148, 8, stored)) return false;
  int64_t unsigned_sum = 0, signed_sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    uint8_t b = (i >= 148 && i < 156) ? ' ' : h[i];
    unsigned_sum += b;
    signed_sum += static_cast<int8_t>(b);
  }
  return static_cast<int64_t>(stored) == unsigned_sum || static_cast<int64_t>(stored) == signed_sum;
}

std::string cstr(const uint8_t* f, size_t len) {
  size_t k = 0;
  while (k < len && f[k]) ++k;
  return std::string(reinterpret_cast<const char*>(f), k);
}

// PAX records "LEN key=value\n"; false on a malformed record.
bool parse_pax(const std::string& d, std::map<std::string, std::string>& out) {
  size_t pos = 0;
  while (pos < d.size()) {
    size_t sp = d.find(' ', pos);
    if (sp == std::string::npos) break;
    uint64_t len = 0;
    if (sp == pos) return false;
    for (size_t i = pos; i < sp; ++i) {
      if (d[i] < '0' || d[i] > '9' || len > (1ull << 40)) return false;
      len = len * 10 + (d[i] - '0');
    }
    if (len == 0 || pos + len > d.size() || pos + len <= sp + 1) return false;
    std::string rec = d.substr(sp + 1, pos + len - sp - 1);
    if (!rec.empty() && rec.back() == '\n') rec.pop_back();
    size_t eq = rec.find('=');
    if (eq == std::string::npos) return false;
    out[rec.substr(0, eq)] = rec.substr(eq + 1);
    pos += len;
  }
  return true;
}

uint64_t padded(uint64_t size) { return (size + kBlock - 1) / kBlock * kBlock; }

void index_impl(const Reader& read, uint64_t total, TarIndex& out) {
  uint64_t pos = 0;
  std::string long_name;
  bool have_long = false;
  std::map<std::string, std::string> pax, global_pax;
  bool resyncing = false;
  uint8_t h[kBlock];
  static const uint8_t zero[kBlock] = {0};
  while (pos + kBlock <= total) {
    if (!read(pos, kBlock, h)) {
      out.problems.push_back("read error at byte " + std::to_string(pos));
      return;
    }
    if (std::memcmp(h, zero, kBlock) == 0) {
      if (resyncing) {
        pos += kBlock;
        continue;
      }
      return;  // end of archive
    }
    if (!checksum_ok(h)) {
      if (!resyncing) out.problems.push_back("broken tar header at byte " + std::to_string(pos));
      resyncing = true;
      pos += kBlock;
      continue;
    }
    resyncing = false;
    uint8_t kind = h[156];
    uint64_t size;
    if (!parse_number(h + 124, 12, size)) {
      out.problems.push_back("broken tar header at byte " + std::to_string(pos) + ": bad size");
      resyncing = true;
      pos += kBlock;
      continue;
    }
    std::string name = cstr(h, 100);
    if (std::memcmp(h + 257, "ustar", 5) == 0 && std::memcmp(h + 257, "ustar\0", 6) == 0) {
      std::string prefix = cstr(h + 345, 155);
      if (!prefix.empty()) name = prefix + "/" + name;
    }
    uint64_t data_pos = pos + kBlock;
    if (kind == 'x' || kind == 'g' || kind == 'L' || kind == 'K') {
      if (size > (64u << 20) || data_pos + size > total) {
        out.problems.push_back("truncated tar extension header " + utf8_lossy(name));
        return;
      }
      std::string d(size, '\0');
      if (size && !read(data_pos, size, reinterpret_cast<uint8_t*>(&d[0]))) {
        out.problems.push_back("read error at byte " + std::to_string(data_pos));
        return;
      }
      if (kind == 'x') {
        pax.clear();
        if (!parse_pax(d, pax)) {
          out.problems.push_back("bad PAX record at byte " + std::to_string(pos));
          pax.clear();
        }
      } else if (kind == 'g') {
        std::map<std::string, std::string> g;
        if (parse_pax(d, g))
          for (auto& kv : g) global_pax[kv.first] = kv.second;
        else
          out.problems.push_back("bad PAX record at byte " + std::to_string(pos));
      } else if (kind == 'L') {
        long_name = d.substr(0, d.find('\0'));
        have_long = true;
      }
      pos = data_pos + padded(size);
      continue;
    }
    auto pit = pax.find("path");
    if (pit != pax.end())
      name = pit->second;
    else if (have_long)
      name = long_name;
    const std::string* psize = nullptr;
    if (pax.count("size"))
      psize = &pax["size"];
    else if (global_pax.count("size"))
      psize = &global_pax["size"];
    if (psize) {
      uint64_t v = 0;
      bool ok = !psize->empty();
      for (char c : *psize) {
        if (c < '0' || c > '9' || v > (1ull << 50)) {
          ok = false;
          break;
        }
        v = v * 10 + (c - '0');
      }
      if (ok) size = v;
    }
    pax.clear();
    have_long = false;
    bool no_data = kind >= '1' && kind <= '6';
    bool dir_like = kind == 0 && !name.empty() && name.back() == '/';
    if (no_data || dir_like) {
      if (kind != '5' && !(!name.empty() && name.back() == '/')) ++out.skipped_entries;
      pos = no_data ? data_pos : data_pos + padded(size);
      continue;
    }
    if (data_pos + size > total) {
      out.problems.push_back("truncated member " + utf8_lossy(name) + " (" + std::to_string(total - data_pos) + " of " +
                             std::to_string(size) + " bytes)");
      return;
    }
    if (kind == '0' || kind == 0 || kind == '7')
      out.members.push_back({utf8_lossy(name), data_pos, size});
    else
      ++out.skipped_entries;
    pos = data_pos + padded(size);
  }
}

}  // namespace

std::string utf8_lossy(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = p[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) ok = (p[i + k] & 0xC0) == 0x80;
    if (ok && len == 2) ok = c >= 0xC2;
    if (ok && len == 3) {
      unsigned cp = ((c & 0x0F) << 12) | ((p[i + 1] & 0x3F) << 6) | (p[i + 2] & 0x3F);
      ok = cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF);
    }
    if (ok && len == 4) {
      unsigned cp = ((c & 0x07) << 18) | ((p[i + 1] & 0x3F) << 12) | ((p[i + 2] & 0x3F) << 6) | (p[i + 3] & 0x3F);
      ok = cp >= 0x10000 && cp <= 0x10FFFF;
    }
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

void index_tar(int fd, uint64_t total, TarIndex& out) {
  Reader r = [fd](uint64_t off, size_t n, uint8_t* dst) {
    size_t got = 0;
    while (got < n) {
      ssize_t k = ::pread(fd, dst + got, n - got, static_cast<off_t>(off + got));
      if (k <= 0) return false;
      got += static_cast<size_t>(k);
    }
    return true;
  };
  index_impl(r, total, out);
}

void index_tar_bytes(const uint8_t* data, size_t n, TarIndex& out) {
  Reader r = [data, n](uint64_t off, size_t len, uint8_t* dst) {
    if (off + len > n) return false;
    std::memcpy(dst, data + off, len);
    return true;
  };
  index_impl(r, n, out);
}

}  // namespace lcl
