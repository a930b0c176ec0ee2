package nextboot

import (
	"fmt"
	"strings"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/tpm"
)

// bootName is the name the firmware reads for entry n of BootOrder: edk2's
// Tcg2Dxe formats "Boot%04x" (lower-case hex), unless the log shows the
// firmware measuring an entry with upper-case hex letters.
func (m *model) bootName(n uint16) string {
	upper := false
	for _, e := range m.boot {
		if e.v == nil {
			continue
		}
		name := e.v.Name()
		if isNumbered(name, "Boot") && strings.ContainsAny(name[4:], "ABCDEF") {
			upper = true
		}
	}
	if upper {
		return fmt.Sprintf("Boot%04X", n)
	}
	return fmt.Sprintf("Boot%04x", n)
}

// bootGroup checks that PCR 1's boot variable events are what edk2
// measures: BootOrder, then Boot#### for entries of BootOrder, in its
// order, each with a digest convention slkit can reproduce. It returns the
// conventions of BootOrder and of the entries, or a reason.
func (m *model) bootGroup() (orderConv, entryConv convention, entryType tpm.EventType, why string) {
	if len(m.boot) == 0 {
		return digestData, digestData, tpm.EvEFIVariableBoot, ""
	}
	first := m.boot[0]
	if first.v == nil || first.name() != efi.BootOrder || first.conv == opaque {
		return 0, 0, 0, "its first boot variable event is not a BootOrder slkit can parse"
	}
	nums, err := efi.ParseBootOrder(first.v.Data)
	if err != nil {
		return 0, 0, 0, "its BootOrder event holds no BootOrder"
	}
	orderConv, entryConv, entryType = first.conv, first.conv, m.log.Events[first.idx].Type
	next := 0
	for i, e := range m.boot[1:] {
		if e.v == nil || e.conv == opaque || e.v.GUID != efi.GlobalGUID {
			return 0, 0, 0, fmt.Sprintf("boot variable event %d does not parse or has an unknown digest", e.idx)
		}
		for next < len(nums) && m.bootName(nums[next]) != e.v.Name() {
			next++
		}
		if next == len(nums) {
			return 0, 0, 0, fmt.Sprintf("%s is measured out of BootOrder's order", e.v.Name())
		}
		next++
		if i == 0 {
			entryConv, entryType = e.conv, m.log.Events[e.idx].Type
		} else if e.conv != entryConv {
			return 0, 0, 0, "boot entries are digested two ways"
		}
	}
	return orderConv, entryConv, entryType, ""
}

// pcr1 returns the boot variable events of the next boot, in place of the
// current ones (first: where they go), or a reason they cannot be
// predicted.
func (m *model) pcr1(vs *values) (evs []tpm.Event, why string, err error) {
	orderConv, entryConv, entryType, why := m.bootGroup()
	if why != "" {
		return nil, "PCR 1 " + why, nil
	}
	orderType := entryType
	if len(m.boot) > 0 {
		orderType = m.log.Events[m.boot[0].idx].Type
	}
	order, known, err := vs.get(efi.BootOrder)
	if err != nil || !known {
		return nil, "BootOrder's value is unknown", err
	}
	if order == nil {
		return nil, "", nil // edk2 measures no boot variable without a BootOrder
	}
	nums, perr := efi.ParseBootOrder(order.Data)
	if perr != nil {
		return nil, "", fmt.Errorf("%w: the new BootOrder: %v", ErrUnpredictable, perr)
	}
	like := &tpm.Event{PCR: 1, Type: orderType}
	uv := func(name string, data []byte) *tpm.UEFIVariableData {
		return tpm.NewUEFIVariableData(efi.GlobalGUID, name, data)
	}
	e, err := m.rebuild(like, uv(efi.BootOrder.Name, order.Data), orderConv)
	if err != nil {
		return nil, "", err
	}
	evs = append(evs, e)
	for _, n := range nums {
		name := m.bootName(n)
		v, known, err := vs.get(efi.Name{Name: name, GUID: efi.GlobalGUID})
		if err != nil {
			return nil, "", err
		}
		if !known {
			return nil, fmt.Sprintf("%s is in the new BootOrder, but neither the event log nor the journal holds its value (read the machine's variables: --efivars)", name), nil
		}
		if v == nil {
			continue
		}
		e, err := m.rebuild(&tpm.Event{PCR: 1, Type: entryType}, uv(name, v.Data), entryConv)
		if err != nil {
			return nil, "", err
		}
		evs = append(evs, e)
	}
	return evs, "", nil
}
