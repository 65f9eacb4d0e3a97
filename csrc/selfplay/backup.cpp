#include "selfplay/backup.h"

namespace lcpipe::selfplay {

void backup(const Path& path, Node& leaf, Value v) {
  double q = v.q, d = v.d, m = v.m;
  leaf.n += 1;
  leaf.q_sum += q;
  leaf.d_sum += d;
  leaf.m_sum += m;
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    Node& node = *it->first;
    const size_t i = it->second;
    q = -q;
    m += 1.0;
    Edge& e = node.edges[i];
    e.n += 1;
    e.w += q;
    e.d += d;
    e.m += m;
    node.n += 1;
    node.q_sum += q;
    node.d_sum += d;
    node.m_sum += m;
  }
}

}  // namespace lcpipe::selfplay
