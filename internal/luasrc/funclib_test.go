package luasrc

import (
	"strings"
	"testing"
)

// TestParseFunctionShebang checks first lines whose fate on Redis 7.0.15
// was seen with FUNCTION LOAD.
func TestParseFunctionShebang(t *testing.T) {
	tests := []struct {
		src, want, wantErr string
	}{
		{src: "#!lua name=mylib\n", want: "mylib"},
		{src: "#!lua name=my_lib2\nreturn", want: "my_lib2"},
		{src: "#!lua  name=a   \n", want: "a"},
		{src: "#!lua name=a name=b\n", wantErr: "name argument was given multiple times"},
		{src: "#!lua\n", wantErr: "Library name was not given"},
		{src: "return 1\n", wantErr: "Missing library metadata"},
		{src: "#!lua name=bad-name\n", wantErr: "Library names can only contain"},
		{src: "#!lua name=\n", wantErr: "Library names can only contain"},
		{src: "#!lua name=lib flags=no-writes\n", wantErr: "Invalid metadata value given: flags=no-writes"},
		{src: "#!js name=lib\n", wantErr: "Engine 'js' not found"},
		{src: "#!lua name=lib", wantErr: "must end with a line break"},
	}
	for _, tt := range tests {
		got, err := ParseFunctionShebang(tt.src)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseFunctionShebang(%q) = %q, %v; want error containing %q", tt.src, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseFunctionShebang(%q) = %q, %v; want %q", tt.src, got, err, tt.want)
		}
	}
}

func TestIsFunctionLibrary(t *testing.T) {
	for src, want := range map[string]bool{
		"#!lua name=lib\n":           true,
		"#!lua name=\n":              true,
		"#!lua flags=no-writes\n":    false,
		"#!lua\nreturn 1":            false,
		"return 1 -- name=x\n":       false,
		"#!name=x\n":                 false,
		"#!lua flags= name=lib\nx\n": true,
	} {
		if got := IsFunctionLibrary(src); got != want {
			t.Errorf("IsFunctionLibrary(%q) = %v, want %v", src, got, want)
		}
	}
}
