/* tc (cls_bpf, direct action) programs of the vlan-tagged lab scenario.
 * This lab kernel has no 8021q module (no VLAN sub-interfaces) and no act_vlan,
 * so the kernel's own VLAN helpers do the tagging: on each end of the veth pair
 * "tc_push" (egress) inserts an 802.1Q tag, VLAN 100 (bpf_skb_vlan_push), and
 * "tc_pop" (ingress) removes it again before the IP stack sees the frame.
 * Built with: clang -O2 -target bpf -c vlan_tc.c -o vlan_tc.o  (no headers needed) */
#define SEC(n) __attribute__((section(n), used))
#define TC_ACT_OK 0
#define ETH_P_8021Q_BE 0x0081  /* htons(0x8100) on a little-endian host */
#define LAB_VLAN_ID 100

static long (*bpf_skb_vlan_push)(void *skb, unsigned short proto, unsigned short tci) = (void *)18;
static long (*bpf_skb_vlan_pop)(void *skb) = (void *)19;

SEC("tc_push") int vlan_push(void *skb)
{
    bpf_skb_vlan_push(skb, ETH_P_8021Q_BE, LAB_VLAN_ID);
    return TC_ACT_OK;
}

SEC("tc_pop") int vlan_pop(void *skb)
{
    bpf_skb_vlan_pop(skb);
    return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
