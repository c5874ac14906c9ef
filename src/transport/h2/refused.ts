/**
 * Error `code` of HTTP/2 streams the server never processed (above a GOAWAY's
 * last stream id, or reset with REFUSED_STREAM): safe to send again anywhere.
 * Its own module, so that the retry policy (browsers too) needs no socket code.
 */
export const REFUSED_CODE = "ERR_HTTP2_REFUSED_STREAM";
