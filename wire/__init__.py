"""What crosses the wire, read and written the same way by the gateway and its adapters:

- `xmlparse`: the one hardened XML parser; `xsd`: validation against our own contract schemas;
- `certificates`: the one reader of certificates and CRLs; `keys`: a party's key and certificate
  files;
- `wsse`: the WS-Security profile (SOAP agencies, the gateway's SOAP callback service);
- `httpsig`: the RFC 9421 HTTP message signature profile with RFC 9530 Content-Digest (REST
  agencies, the REST callback endpoint, signed decisions POSTed to traders).

It imports neither `gateway` nor `adapters` nor `simulators` (an import contract checks this), so
both sides of the gateway can use it; the stand-in agencies keep their own independent copy on
purpose: they are the other side of the wire and share only the contracts.
"""
