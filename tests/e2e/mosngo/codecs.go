// The generated Go codecs compiled into MOSN: tests/e2e/builds.py copies this file, go.mod
// and go.sum next to tests/e2e/mosnd's main.go and generates each codec into codecs/<spec>
// with `protodsl gen specs/<spec>.proto-dsl --target mosn-go`; go.mod points each import
// path there with a `replace`. MOSN then knows each codec by the spec's MOSN name
// ("x-bolt" ...), which a listener's sub_protocol names like a built-in codec's.
package main

import (
	"bolt"
	"boltv2"
	"dubbo"
)

func init() {
	compiledIn = append(compiledIn, bolt.Codec{}, boltv2.Codec{}, dubbo.Codec{})
}
