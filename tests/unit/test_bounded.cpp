// Bounded state: a connection's memory does not grow with its frames, and a SYN-only connection costs
// a small fixed amount. Heap use is counted by replacing the global operator new/delete of this test
// binary (live bytes = allocated - freed).
#include "catch_compat.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

#include "builders.hpp"
#include "tdsdiag/tcp_header.hpp"

namespace {
std::atomic<long long> g_live{0};
}

// GCC cannot see that these pointers come from this operator new (16 bytes past malloc's).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#pragma GCC diagnostic ignored "-Wpragmas"
void* operator new(std::size_t n) {
    void* p = std::malloc(n + 16);
    if (p == nullptr) throw std::bad_alloc();
    *static_cast<std::size_t*>(p) = n;
    g_live += static_cast<long long>(n);
    return static_cast<char*>(p) + 16;
}
void operator delete(void* p) noexcept {
    if (p == nullptr) return;
    char* base = static_cast<char*>(p) - 16;
    g_live -= static_cast<long long>(*reinterpret_cast<std::size_t*>(base));
    std::free(base);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
// Every other form goes through the two above, so that no block crosses between allocators.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return operator new(n);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p, const std::nothrow_t&) noexcept { operator delete(p); }
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { operator delete(p); }
#pragma GCC diagnostic pop

using namespace test;

TEST_CASE("A connection with a million frames keeps a bounded state", "[bounded]") {
    tdsdiag::Analyzer a;
    std::vector<Packet> start{syn(), synack(), ack(true), prelogin(2), prelogin_response(2),
                              tds(true, {tdsdiag::kTdsLogin7}), login_ack()};
    uint32_t frame = 0;
    for (Packet& p : start) {
        p.frame = ++frame;
        a.on_packet(p);
    }
    // A session of batches, responses, ACKs, attentions and their acknowledgements.
    Packet batch = tds(true, {tdsdiag::kTdsSqlBatch}), resp = tds(false, {tdsdiag::kTdsResponse});
    Packet attn = tds(true, {tdsdiag::kTdsAttention}), attn_ack = resp, bare = ack(false);
    attn_ack.done_attention = true;
    const Packet* cycle[] = {&batch, &resp, &bare, &batch, &attn, &attn_ack, &bare};
    long long after_warmup = 0;
    for (int i = 0; i < 1000000; ++i) {
        Packet p = *cycle[i % 7];
        p.frame = ++frame;
        p.time_ns = static_cast<int64_t>(frame) * 1000;
        a.on_packet(p);
        if (i == 10000) after_warmup = g_live.load();
    }
    const long long growth = g_live.load() - after_warmup;
    INFO("heap growth over the last 990,000 frames: " << growth << " bytes");
    CHECK(growth < 4096);
    const tdsdiag::Connection* c = a.find(0);
    REQUIRE(c != nullptr);
    CHECK(c->findings().size() <= 64);
    CHECK(c->summary(true).attentions > 100000);  // counted, not kept
}

TEST_CASE("A million SYN-only connections cost a small fixed amount each", "[bounded]") {
    const long long before = g_live.load();
    {
        tdsdiag::Analyzer a;
        const int n = 1000000;
        for (int i = 0; i < n; ++i) {
            Packet p = syn();
            p.frame = static_cast<uint32_t>(i + 1);
            p.stream = static_cast<uint32_t>(i);
            p.src_port = static_cast<uint16_t>(1024 + i % 60000);
            a.on_packet(p);
        }
        const long long per_conn = (g_live.load() - before) / n;
        INFO("heap per SYN-only connection: " << per_conn << " bytes");
        CHECK(per_conn < 2048);
        CHECK(a.connections().size() == static_cast<size_t>(n));
    }
    CHECK(g_live.load() - before < 4096);  // all of it is released with the capture
}

TEST_CASE("The plugin's stream table costs at most 64 bytes a connection, released with the capture",
          "[bounded]") {
    const long long before = g_live.load();
    {
        tdsdiag::StreamTable table;
        const uint32_t n = 1000000;
        const uint8_t server[4] = {10, 10, 10, 120};
        for (uint32_t i = 0; i < n; ++i) {
            const uint8_t client[4] = {10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                                       static_cast<uint8_t>(i)};
            table.set(tdsdiag::TcpTuple::of(client, server, 4, static_cast<uint16_t>(1024 + i % 60000), 1433), i);
        }
        // The slots of a big table come from aligned_alloc (huge pages), not operator new: counted by
        // the table itself, and only the rest by this binary's operator new.
        const size_t per_conn = table.memory() / n;
        INFO("memory per connection: " << per_conn << " bytes");
        CHECK(per_conn <= 64);  // 16-byte slots, a table between a quarter and half full
        CHECK(per_conn >= 32);
        CHECK(g_live.load() - before <= 64 * 1024);  // the recent copies (16 KB) and no more
        CHECK(table.size() == n);
    }
    CHECK(g_live.load() - before == 0);
}
