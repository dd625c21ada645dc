"""The generated package's go.mod and go.sum. With a MOSN layer the package
needs mosn.io/api (the interfaces) and mosn.io/pkg (MOSN's buffers) at the
versions MOSN v1.6.1 builds with, the MOSN the e2e suite runs; go.sum is what
`go mod tidy` wrote for exactly these, so the package builds with -mod=readonly."""

from __future__ import annotations

GO_VERSION = "1.21"
MOSN = "v1.6.1"
REQUIRES = (("mosn.io/api", "v1.6.0"), ("mosn.io/pkg", "v1.6.0"))
INDIRECT = (
    ("github.com/golang/protobuf", "v1.5.0"),
    ("github.com/rcrowley/go-metrics", "v0.0.0-20200313005456-10cdbea86bc0"),
    ("google.golang.org/protobuf", "v1.26.0-rc.1"),
)
# go.sum: (module, version, hash of the module, hash of its go.mod).
SUMS = (
    ("github.com/davecgh/go-spew", "v1.1.1",
     "h1:vj9j/u1bqnvCEfJOwUhtlOARqs3+rkHYY13jYWTU97c=",
     "h1:J7Y8YcW2NihsgmVo/mv3lAwl/skON4iLHjSsI+c5H38="),
    ("github.com/golang/protobuf", "v1.5.0",
     "h1:LUVKkCeviFUMKqHa4tXIIij/lbhnMbP7Fn5wKdKkRh4=",
     "h1:FsONVRAS9T7sI+LIUmWTfcYkHO4aIWwzhcaSAoJOfIk="),
    ("github.com/google/go-cmp", "v0.5.5",
     "h1:Khx7svrCpmxxtHBq5j2mp/xVjsi8hQMfNLvJFAlrGgU=",
     "h1:v8dTdLbMG2kIc/vJvl+f65V22dbkXbowE6jgT/gNBxE="),
    ("github.com/pmezard/go-difflib", "v1.0.0",
     "h1:4DBwDE0NGyQoBHbLQYPwSUPoCMWR5BEzIk/f1lZbAQM=",
     "h1:iKH77koFhYxTK1pcRnkKkqfTogsbg7gZNVY4sRDYZ/4="),
    ("github.com/rcrowley/go-metrics", "v0.0.0-20200313005456-10cdbea86bc0",
     "h1:MkV+77GLUNo5oJ0jf870itWm3D0Sjh7+Za9gazKc5LQ=",
     "h1:bCqnVzQkZxMG4s8nGwiZ5l3QUCyqpo9Y+/ZMZ9VjZe4="),
    ("github.com/stretchr/testify", "v1.7.0",
     "h1:nwc3DEeHmmLAfoZucVR881uASk0Mfjw8xYJ99tb5CcY=",
     "h1:6Fq8oRcR53rry900zMqJjRRixrwX3KX962/h/Wwjteg="),
    ("golang.org/x/xerrors", "v0.0.0-20191204190536-9bdfabe68543",
     "h1:E7g+9GITq07hpfrRu66IVDexMakfv52eLZ2CXBWiKr4=",
     "h1:I/5z698sn9Ka8TeJc9MKroUUfqBBauWjQqLJ2OPfmY0="),
    ("google.golang.org/protobuf", "v1.26.0-rc.1",
     "h1:7QnIQpGRHE5RnLKnESfDoxm2dTapTZua5a0kS0A+VXQ=",
     "h1:jlhhOSvTdKEhbULTjvd4ARK9grFBp09yW+WbY/TyQbw="),
    ("gopkg.in/yaml.v3", "v3.0.0-20200313102051-9f266ea9e77c",
     "h1:dUUwHk2QECo/6vqA44rthZ8ie2QXMNeKRTHCNY2nXvo=",
     "h1:K4uyk7z7BCEPqu6E+C64Yfv1cQ7kz7rIZviUmN+EgEM="),
    ("mosn.io/api", "v1.6.0",
     "h1:V1nY3vHrI2pGXBF8dJi1ER+uHb1UxMFx/Z8E4tOvrbU=",
     "h1:mJX2oRJkrXjLN6hY1Wwrlxj0F+RqEPOMhbf2WhZO+VY="),
    ("mosn.io/pkg", "v1.6.0",
     "h1:R+T344PEp7CauQvXEitDJTXQ0bIeOhLwnaey9qwN4Fs=",
     "h1:/EptiefKMKBRvrveNPYEAAgthCTSme52sLMlBXBIBm8="),
)
GO_SUM = "".join(f"{m} {v} {h}\n{m} {v}/go.mod {g}\n" for m, v, h, g in SUMS)


def go_mod(module: str, mosn: bool) -> str:
    """go.mod of the package `module`; without a MOSN layer it requires nothing."""
    text = f"module {module}\n\ngo {GO_VERSION}\n"
    if not mosn:
        return text
    text += f"\n// mosn.io/api and mosn.io/pkg as MOSN {MOSN} builds with them.\nrequire (\n"
    text += "".join(f"\t{m} {v}\n" for m, v in REQUIRES) + ")\n\nrequire (\n"
    return text + "".join(f"\t{m} {v} // indirect\n" for m, v in INDIRECT) + ")\n"
