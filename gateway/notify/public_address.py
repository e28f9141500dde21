"""Is an address on the public internet? The judge of where a trader's URL may point the gateway.

`ipaddress.is_global` alone is not enough (Python 3.11): an IPv6 address can carry an IPv4 address
that a translator or tunnel will reach, and several such forms count as global although the IPv4
inside is loopback, private or the cloud metadata service — `64:ff9b::7f00:1` is 127.0.0.1 through
NAT64. So the IPv4 address embedded by each known form is judged too, and a form whose embedding
cannot be located is refused outright.
"""

from __future__ import annotations

import ipaddress

from gateway.i18n.text import Text

NOT_PUBLIC = Text("which is not a public address")
IPv4 = ipaddress.IPv4Address
IPv6 = ipaddress.IPv6Address
Net6 = ipaddress.IPv6Network

# RFC 6052 §2.1: the well-known NAT64 prefix; the IPv4 address is the last 32 bits of a /96.
NAT64_WELL_KNOWN = Net6("64:ff9b::/96")
# RFC 8215: local-use NAT64 prefixes under 64:ff9b:1::/48 may be /32../96 (RFC 6052 §2.2), so the
# IPv4 address can sit at several positions: none can be trusted, the whole prefix is refused.
NAT64_LOCAL_USE = Net6("64:ff9b:1::/48")
SIX_TO_FOUR = Net6("2002::/16")  # RFC 3056 §2: 2002:V4ADDR::/48
TEREDO = Net6("2001::/32")  # RFC 4380 §4: server IPv4 in bits 32-63, client IPv4 (inverted) last
IPV4_MAPPED = Net6("::ffff:0:0/96")  # RFC 4291 §2.5.5.2
IPV4_COMPATIBLE = Net6("::/96")  # RFC 4291 §2.5.5.1 (deprecated; "::" and "::1" are in it too)


def refusal(address: str) -> str | None:
    """Why `address` (IPv4 or IPv6, an optional %zone) is not a public address, as a phrase that
    follows the address in a sentence, or None if it is public."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, IPv4):
        return None if ip.is_global else NOT_PUBLIC
    if ip in NAT64_LOCAL_USE:
        return Text(
            "a local-use NAT64 address whose IPv4 address cannot be told, so not a public address"
        )
    embedded = _embedded(ip)
    for inside in embedded:
        if not inside.is_global:
            return Text("an IPv6 form of %(ipv4)s, which is not a public address", ipv4=inside)
    # A form that only carries an IPv4 address is as public as that address; any other IPv6
    # address (Teredo included, which the registry does not count as global) must be global itself.
    carries_only_ipv4 = embedded and ip not in TEREDO
    return None if carries_only_ipv4 or ip.is_global else NOT_PUBLIC


def _embedded(ip: IPv6) -> list[IPv4]:
    """The IPv4 addresses inside `ip` by the forms a router, translator or tunnel acts on."""
    if ip in NAT64_WELL_KNOWN or ip in IPV4_MAPPED or ip in IPV4_COMPATIBLE:
        return [IPv4(int(ip) & 0xFFFFFFFF)]
    if (six_to_four := ip.sixtofour) is not None:
        return [six_to_four]
    if (teredo := ip.teredo) is not None:
        server, client = teredo  # the client address comes out de-obfuscated (RFC 4380 §4)
        return [server, client]
    return []
