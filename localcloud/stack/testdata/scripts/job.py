import sys
print("job ran with", " ".join(sys.argv[1:]))
