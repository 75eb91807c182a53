// Revocation. Attic tokens are stateless and carry no `jti` (atticadm never
// sets one), so a token is named by its id: the SHA-256 of the token text, in
// lowercase hex (`printf %s "$TOKEN" | sha256sum`). The signature makes that
// unique per token, and it can be computed from a leaked token without the
// secret. A deny-list refuses tokens by id or by subject (`sub`), the way
// Attic's config can refuse subjects.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace nixedge::lab {

std::string token_id(std::string_view token);

class DenyList {
  public:
    void deny_subject(std::string subject) { subjects_.insert(std::move(subject)); }
    void deny_token_id(std::string id) { token_ids_.insert(std::move(id)); }

    bool denies(const std::optional<std::string>& subject, std::string_view id) const;

  private:
    std::set<std::string, std::less<>> subjects_;
    std::set<std::string, std::less<>> token_ids_;
};

} // namespace nixedge::lab
