# make install [PREFIX=/usr/local] [DESTDIR=]: the preloaded library, gqrun
# beside it (PREFIX/bin finds PREFIX/lib/libgqshim.so), the public header and
# a pkg-config file written for PREFIX. make uninstall removes them.
GQ_SHIM_VERSION := $(shell sed -n 's/^\#define GQ_SHIM_VERSION "\(.*\)"/\1/p' include/gqshim.h)
INSTALL ?= install
# gqrun looks for the library in ../lib: these two stay in step.
GQ_BINDIR := $(PREFIX)/bin
GQ_LIBDIR := $(PREFIX)/lib
GQ_INCDIR := $(PREFIX)/include
GQ_PCDIR  := $(GQ_LIBDIR)/pkgconfig

.PHONY: uninstall
install: $(LIBGQSHIM) $(GQRUN) include/gqshim.h mk/gqshim.pc.in
	@$(if $(Q),echo "  INSTALL $(DESTDIR)$(PREFIX)")
	$(Q)$(INSTALL) -d $(DESTDIR)$(GQ_BINDIR) $(DESTDIR)$(GQ_LIBDIR) $(DESTDIR)$(GQ_INCDIR) \
	    $(DESTDIR)$(GQ_PCDIR)
	$(Q)$(INSTALL) -m 755 $(LIBGQSHIM) $(DESTDIR)$(GQ_LIBDIR)/libgqshim.so
	$(Q)$(INSTALL) -m 755 $(GQRUN) $(DESTDIR)$(GQ_BINDIR)/gqrun
	$(Q)$(INSTALL) -m 644 include/gqshim.h $(DESTDIR)$(GQ_INCDIR)/gqshim.h
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(GQ_SHIM_VERSION)|g' \
	    mk/gqshim.pc.in >$(DESTDIR)$(GQ_PCDIR)/gqshim.pc
	$(Q)chmod 644 $(DESTDIR)$(GQ_PCDIR)/gqshim.pc

uninstall:
	rm -f $(DESTDIR)$(GQ_LIBDIR)/libgqshim.so $(DESTDIR)$(GQ_BINDIR)/gqrun \
	    $(DESTDIR)$(GQ_INCDIR)/gqshim.h $(DESTDIR)$(GQ_PCDIR)/gqshim.pc
