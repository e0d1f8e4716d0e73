// Batched UDP for the DNS query path (Linux): one recvmmsg() takes up to `slots` queries, one call into
// JavaScript answers them all, one sendmmsg() sends the answers. Node's dgram costs a system call, a
// libuv callback and a JavaScript call per datagram each way, which caps it well below what the DNS logic
// can answer; batching amortises all three (NSD and Knot batch the same way).
//
// Memory is shared with JavaScript, nothing is copied across the boundary: JavaScript allocates the
// buffers and passes them to open(). Per slot i:
//   in   [i * slotSize, +slotSize)   the datagram received (the kernel writes it there)
//   addr [i * ADDR_SIZE, +ADDR_SIZE) the sender's sockaddr_in / sockaddr_in6, as the kernel wrote it
//   out  [i * slotSize, +slotSize)   the answer JavaScript wrote
//   meta[2i]   received length (-1: the datagram did not fit its slot and was cut)
//   meta[2i+1] answer length JavaScript set (0: no answer)
// The poll callback calls onBatch(count) with meta[2i] set for i < count; onBatch sets meta[2i+1].
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#define NAPI_VERSION 8
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define ADDR_SIZE 28 /* sizeof(struct sockaddr_in6) */
#define MAX_SLOTS 256
/* Batches taken per readable event before the event loop gets a turn (TCP, IPC from the primary, timers). */
#define ROUNDS_PER_EVENT 4

typedef struct {
  napi_env env;
  int fd;
  int closed;
  /* Freed when both have happened: libuv closed the handle, and JavaScript's handle object was collected
     (until then a late close() or sendErrors() on it must still find this memory). */
  int handle_closed;
  int collected;
  uv_poll_t poll;
  napi_ref on_batch;
  napi_ref buffers[4]; /* in, addr, out, meta: kept alive while the socket is open */
  napi_async_context async;
  uint8_t *in;
  uint8_t *addr;
  uint8_t *out;
  int32_t *meta;
  uint32_t slots;
  uint32_t slot_size;
  uint64_t send_errors;
  struct mmsghdr rmsg[MAX_SLOTS];
  struct iovec riov[MAX_SLOTS];
  struct mmsghdr smsg[MAX_SLOTS];
  struct iovec siov[MAX_SLOTS];
} batch_socket;

#define CHECK(call)                                                                                        \
  do {                                                                                                     \
    if ((call) != napi_ok) {                                                                               \
      napi_throw_error(env, NULL, "udp_batch: N-API call failed: " #call);                                 \
      return NULL;                                                                                         \
    }                                                                                                      \
  } while (0)

static napi_value throw_errno(napi_env env, int err, const char *what) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  /* The code property is the errno's name (EADDRINUSE, ...), as Node's own socket errors carry. */
  napi_throw_error(env, uv_err_name(-err), msg);
  return NULL;
}

static void on_closed(uv_handle_t *handle) {
  batch_socket *s = (batch_socket *)handle->data;
  close(s->fd); /* only now: libuv must not be watching a descriptor that is closed (and maybe reused) */
  s->handle_closed = 1;
  if (s->collected) free(s);
}

static void release(batch_socket *s) {
  if (s->closed) return;
  s->closed = 1;
  uv_poll_stop(&s->poll);
  napi_delete_reference(s->env, s->on_batch);
  for (int i = 0; i < 4; i++) napi_delete_reference(s->env, s->buffers[i]);
  napi_async_destroy(s->env, s->async);
  uv_close((uv_handle_t *)&s->poll, on_closed);
}

/* Sends answers for the first `count` slots; a full send buffer drops the rest, as a UDP send would. */
static void send_answers(batch_socket *s, int count) {
  int n = 0;
  for (int i = 0; i < count; i++) {
    int32_t len = s->meta[2 * i + 1];
    if (len <= 0 || (uint32_t)len > s->slot_size) continue;
    s->siov[n].iov_base = s->out + (size_t)i * s->slot_size;
    s->siov[n].iov_len = (size_t)len;
    struct msghdr *h = &s->smsg[n].msg_hdr;
    memset(h, 0, sizeof *h);
    h->msg_name = s->addr + (size_t)i * ADDR_SIZE;
    h->msg_namelen = s->rmsg[i].msg_hdr.msg_namelen;
    h->msg_iov = &s->siov[n];
    h->msg_iovlen = 1;
    n++;
  }
  int done = 0;
  while (done < n) {
    int r = sendmmsg(s->fd, s->smsg + done, (unsigned)(n - done), MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      /* EAGAIN: the send buffer is full. Anything else is one bad destination: skip it, go on. */
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        s->send_errors += (uint64_t)(n - done);
        return;
      }
      s->send_errors++;
      done++;
      continue;
    }
    done += r;
  }
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  batch_socket *s = (batch_socket *)handle->data;
  (void)events;
  if (status < 0 || s->closed) return;
  napi_env env = s->env;
  for (int round = 0; round < ROUNDS_PER_EVENT; round++) {
    for (uint32_t i = 0; i < s->slots; i++) s->rmsg[i].msg_hdr.msg_namelen = ADDR_SIZE;
    int n = recvmmsg(s->fd, s->rmsg, s->slots, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return; /* EAGAIN: drained. Other errors (e.g. ICMP port unreachable reported late) are not fatal. */
    }
    if (n == 0) return;
    for (int i = 0; i < n; i++) {
      s->meta[2 * i] = (s->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) ? -1 : (int32_t)s->rmsg[i].msg_len;
      s->meta[2 * i + 1] = 0;
    }
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value fn, recv, argv, result;
    napi_get_reference_value(env, s->on_batch, &fn);
    napi_get_global(env, &recv); /* make_callback wants an object as `this` */
    napi_create_int32(env, n, &argv);
    /* make_callback: nextTicks and promises queued by the handler run afterwards, as after any I/O. */
    napi_status st = napi_make_callback(env, s->async, recv, fn, 1, &argv, &result);
    if (st == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
    napi_close_handle_scope(env, scope);
    if (s->closed) return; /* the handler closed the socket */
    send_answers(s, n);
    if ((uint32_t)n < s->slots) return;
  }
}

static int parse_address(const char *text, int port, struct sockaddr_storage *sa, socklen_t *len) {
  memset(sa, 0, sizeof *sa);
  struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    *len = sizeof *v4;
    return AF_INET;
  }
  if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    *len = sizeof *v6;
    return AF_INET6;
  }
  return -1;
}

static void set_buffer(int fd, int force_opt, int opt, int size) {
  /* As NSD: the FORCE variant passes net.core.rmem_max when privileged, else the capped one. */
  if (size <= 0) return;
  if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof size) == 0) return;
  setsockopt(fd, SOL_SOCKET, opt, &size, sizeof size);
}

static int get_buffer_ref(napi_env env, napi_value v, void **data, size_t *len) {
  bool is;
  if (napi_is_buffer(env, v, &is) == napi_ok && is) return napi_get_buffer_info(env, v, data, len) == napi_ok;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t count, offset;
    napi_value ab;
    if (napi_get_typedarray_info(env, v, &type, &count, data, &ab, &offset) != napi_ok) return 0;
    if (type != napi_int32_array) return 0;
    *len = count * 4;
    return 1;
  }
  return 0;
}

static void finalize_socket(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  /* A socket JavaScript dropped without close() stays open (its callback and buffers are referenced). */
  batch_socket *s = (batch_socket *)data;
  s->collected = 1;
  if (s->handle_closed) free(s);
}

/* open(address, port, reusePort, bufferBytes, slots, slotSize, in, addr, out, meta, onBatch)
 *   -> { handle, port } */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 11) {
    napi_throw_type_error(env, NULL, "udp_batch.open: 11 arguments expected");
    return NULL;
  }
  char address[64];
  size_t alen;
  int32_t port, reuse, bufsize, slots, slot_size;
  if (napi_get_value_string_utf8(env, argv[0], address, sizeof address, &alen) != napi_ok ||
      napi_get_value_int32(env, argv[1], &port) != napi_ok || napi_get_value_int32(env, argv[2], &reuse) != napi_ok ||
      napi_get_value_int32(env, argv[3], &bufsize) != napi_ok ||
      napi_get_value_int32(env, argv[4], &slots) != napi_ok ||
      napi_get_value_int32(env, argv[5], &slot_size) != napi_ok) {
    napi_throw_type_error(env, NULL, "udp_batch.open: bad argument");
    return NULL;
  }
  if (slots < 1 || slots > MAX_SLOTS || slot_size < 512 || port < 0 || port > 65535) {
    napi_throw_range_error(env, NULL, "udp_batch.open: slots, slot size or port out of range");
    return NULL;
  }
  void *mem[4];
  size_t len[4];
  size_t need[4] = {(size_t)slots * slot_size, (size_t)slots * ADDR_SIZE, (size_t)slots * slot_size,
                    (size_t)slots * 2 * 4};
  for (int i = 0; i < 4; i++) {
    if (!get_buffer_ref(env, argv[6 + i], &mem[i], &len[i]) || len[i] < need[i]) {
      napi_throw_range_error(env, NULL, "udp_batch.open: a shared buffer is missing or too small");
      return NULL;
    }
  }
  napi_valuetype t;
  CHECK(napi_typeof(env, argv[10], &t));
  if (t != napi_function) {
    napi_throw_type_error(env, NULL, "udp_batch.open: onBatch must be a function");
    return NULL;
  }

  struct sockaddr_storage sa;
  socklen_t salen;
  int family = parse_address(address, port, &sa, &salen);
  if (family < 0) return throw_errno(env, EINVAL, "udp_batch.open: not an IP address");
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  int one = 1;
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (reuse) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, bufsize);
  set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, bufsize);
  if (bind(fd, (struct sockaddr *)&sa, salen) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "bind");
  }
  struct sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &blen);
  int bound_port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                           : ((struct sockaddr_in6 *)&bound)->sin6_port);

  batch_socket *s = calloc(1, sizeof *s);
  if (!s) {
    close(fd);
    return throw_errno(env, ENOMEM, "udp_batch.open");
  }
  s->env = env;
  s->fd = fd;
  s->slots = (uint32_t)slots;
  s->slot_size = (uint32_t)slot_size;
  s->in = mem[0];
  s->addr = mem[1];
  s->out = mem[2];
  s->meta = mem[3];
  for (int i = 0; i < slots; i++) {
    s->riov[i].iov_base = s->in + (size_t)i * slot_size;
    s->riov[i].iov_len = (size_t)slot_size;
    s->rmsg[i].msg_hdr.msg_name = s->addr + (size_t)i * ADDR_SIZE;
    s->rmsg[i].msg_hdr.msg_iov = &s->riov[i];
    s->rmsg[i].msg_hdr.msg_iovlen = 1;
  }
  for (int i = 0; i < 4; i++) napi_create_reference(env, argv[6 + i], 1, &s->buffers[i]);
  napi_create_reference(env, argv[10], 1, &s->on_batch);
  napi_value resource_name;
  napi_create_string_utf8(env, "vpsdns.udpBatch", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &s->async);

  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  s->poll.data = s;
  if (uv_poll_init(loop, &s->poll, fd) != 0) {
    for (int i = 0; i < 4; i++) napi_delete_reference(env, s->buffers[i]);
    napi_delete_reference(env, s->on_batch);
    napi_async_destroy(env, s->async);
    close(fd);
    free(s);
    return throw_errno(env, EIO, "uv_poll_init");
  }
  if (uv_poll_start(&s->poll, UV_READABLE, on_readable) != 0) {
    s->collected = 1; /* no handle object was made: freed once libuv has closed the handle */
    release(s);
    return throw_errno(env, EIO, "uv_poll_start");
  }

  napi_value result, handle, port_value;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_external(env, s, finalize_socket, NULL, &handle));
  CHECK(napi_create_int32(env, bound_port, &port_value));
  CHECK(napi_set_named_property(env, result, "handle", handle));
  CHECK(napi_set_named_property(env, result, "port", port_value));
  return result;
}

static batch_socket *socket_arg(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, NULL, "udp_batch: missing argument");
    return NULL;
  }
  void *data;
  if (napi_get_value_external(env, argv[0], &data) != napi_ok) {
    napi_throw_type_error(env, NULL, "udp_batch: not a socket handle");
    return NULL;
  }
  return (batch_socket *)data;
}

/* close(handle): stops reading and closes the socket (idempotent). */
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  batch_socket *s = socket_arg(env, info, 1, argv);
  if (s) release(s);
  return NULL;
}

/* sendTo(handle, buffer, slot): one datagram to the sender of `slot` (for answers of several messages). */
static napi_value js_send_to(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  batch_socket *s = socket_arg(env, info, 3, argv);
  if (!s || s->closed) return NULL;
  void *data;
  size_t len;
  int32_t slot;
  if (napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok ||
      napi_get_value_int32(env, argv[2], &slot) != napi_ok || slot < 0 || (uint32_t)slot >= s->slots) {
    napi_throw_type_error(env, NULL, "udp_batch.sendTo: bad argument");
    return NULL;
  }
  struct sockaddr *to = (struct sockaddr *)(s->addr + (size_t)slot * ADDR_SIZE);
  socklen_t tolen = to->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  if (sendto(s->fd, data, len, MSG_DONTWAIT, to, tolen) < 0) s->send_errors++;
  return NULL;
}

/* sendErrors(handle): answers dropped because the send buffer was full or the send failed. */
static napi_value js_send_errors(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  batch_socket *s = socket_arg(env, info, 1, argv);
  if (!s) return NULL;
  napi_value v;
  napi_create_double(env, (double)s->send_errors, &v);
  return v;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"sendTo", NULL, js_send_to, NULL, NULL, NULL, napi_default, NULL},
      {"sendErrors", NULL, js_send_errors, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value addr_size;
  napi_create_int32(env, ADDR_SIZE, &addr_size);
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_set_named_property(env, exports, "ADDR_SIZE", addr_size);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
