// SPDX-License-Identifier: GPL-2.0
/*
 * prev_attach: put the stand-in for an earlier xdpban program
 * (xdpban_prev.bpf.c) on an interface, as an earlier xdpban attach would
 * have: on the pinned maps of $XDPBAN_PIN_DIR (made if need be), in a link
 * pinned as link_IFNAME; a link already pinned there is pointed at it.
 * test_upgrade then checks that xdpban attach / run replace it in place.
 *
 *   prev_attach IFNAME [native|generic]
 *
 * Run inside the interface's network namespace. Prints the program's id.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane/internal.h"
#include "xdpban.skel.h"
#include "xdpban_prev.skel.h"

int main(int argc, char **argv)
{
	struct xdpban_prev *p = NULL;
	struct bpf_prog_info pi = {};
	__u32 len = sizeof(pi);
	struct bpf_map *m;
	struct xb_dp *dp;
	char path[PATH_MAX];
	int ifindex, err, fd;
	bool generic = argc > 2 && !strcmp(argv[2], "generic");

	if (argc < 2 || !(ifindex = (int)if_nametoindex(argv[1]))) {
		fprintf(stderr, "usage: prev_attach IFNAME [native|generic] (an interface here)\n");
		return 2;
	}
	if ((err = xb_dp_open(&(struct xb_dp_opts){ 0 }, &dp)))
		return 1;
	p = xdpban_prev__open();
	if (!p) {
		fprintf(stderr, "prev_attach: cannot open the object: %s\n", strerror(errno));
		xb_dp_close(dp);
		return 1;
	}
	/* Every map of ours is the pinned one, as in open.c. */
	bpf_object__for_each_map(m, p->obj) {
		struct bpf_map *ours;

		if (err || bpf_map__is_internal(m))
			continue;
		ours = bpf_object__find_map_by_name(dp->skel->obj, bpf_map__name(m));
		err = ours ? bpf_map__reuse_fd(m, bpf_map__fd(ours)) : -ENOENT;
	}
	if (!err) {
		p->rodata->xb_cnt_percpu = dp->skel->rodata->xb_cnt_percpu;
		err = xdpban_prev__load(p);
	}
	snprintf(path, sizeof(path), "%s/%s%s", xb_dp_pin_dir(dp), XB_LINK_PREFIX, argv[1]);
	fd = err ? err : bpf_obj_get(path);
	if (!err && fd >= 0) {
		err = bpf_link_update(fd, bpf_program__fd(p->progs.xdpban), NULL);
	} else if (!err) {
		LIBBPF_OPTS(bpf_link_create_opts, o,
			    .flags = generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);

		fd = bpf_link_create(bpf_program__fd(p->progs.xdpban), ifindex, BPF_XDP, &o);
		err = fd < 0 ? fd : bpf_obj_pin(fd, path);
	}
	if (!err)
		err = bpf_obj_get_info_by_fd(bpf_program__fd(p->progs.xdpban), &pi, &len);
	if (err)
		fprintf(stderr, "prev_attach: %s: %s\n", argv[1], strerror(-err));
	else
		printf("%u\n", pi.id);
	if (fd >= 0)
		close(fd);
	xdpban_prev__destroy(p);
	xb_dp_close(dp);
	return err ? 1 : 0;
}
