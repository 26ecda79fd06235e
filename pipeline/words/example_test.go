package words_test

import (
	"fmt"

	"github.com/datarefine/refine/pipeline/words"
)

func ExampleWords() {
	fmt.Printf("%q\n", words.Words("I don't know, e.g. see https://example.com/a.html :)"))
	// Output: ["I" "do" "n't" "know" "," "e.g." "see" "https://example.com/a.html" ":)"]
}

func ExampleSentences() {
	text := "Mr. Smith went home. He slept!\nThe end"
	fmt.Printf("%q\n", words.Sentences(text))
	fmt.Println(words.CountSentences(text))
	// Output:
	// ["Mr. Smith went home." " He slept!" "\nThe end"]
	// 3
}
