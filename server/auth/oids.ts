/** Object identifiers the portal's certificate checks look for. */

/** RFC 3820 ProxyCertInfo extension: present (and critical) on every RFC 3820 proxy certificate. */
export const PROXY_CERT_INFO_OID = '1.3.6.1.5.5.7.1.14';
